/**
 * Writes an empty qcow2 (version 3) overlay natively, byte for byte the layout qemu-img
 * 7.2 creates (header and backing-format extension in cluster 0, refcount table in
 * cluster 1, refcount block in cluster 2, L1 table in cluster 3), so creating an overlay
 * per disk needs no qemu-img process (~30 ms each). Only the virtual size has to be read
 * from the backing image, which is done for qcow2 and raw regular files; anything else
 * is left to qemu-img.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { openImageFile } from './image-file-open.js';

const CLUSTER_BITS = 16;
const CLUSTER = 1 << CLUSTER_BITS;
const QCOW2_MAGIC = 0x514649fb;
const HEADER_LENGTH = 112;
const EXT_BACKING_FORMAT = 0xe2792aca;
/** One L2 table maps CLUSTER/8 clusters. */
const BYTES_PER_L1_ENTRY = (CLUSTER / 8) * CLUSTER;

/** The virtual size of `path` read from its header (qcow2) or its length (raw), or undefined when unsupported. */
export async function backingVirtualSize(path: string, format: string): Promise<number | undefined> {
  if (format !== 'qcow2' && format !== 'raw') return undefined;
  let handle: FileHandle | undefined;
  try {
    // Never blocks on, or reads, a FIFO or a device named as the backing file.
    handle = await openImageFile(path);
    if (format === 'raw') return (await handle.stat()).size;
    const header = Buffer.alloc(32);
    const { bytesRead } = await handle.read(header, 0, 32, 0);
    if (bytesRead < 32 || header.readUInt32BE(0) !== QCOW2_MAGIC) return undefined;
    const size = header.readBigUInt64BE(24);
    return size > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(size);
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** The bytes of an empty qcow2 v3 overlay of `size` bytes on `backingPath` (stored verbatim) in `backingFormat`. */
export function qcow2OverlayBytes(size: number, backingPath: string, backingFormat: string): Buffer {
  const l1Size = Math.ceil(size / BYTES_PER_L1_ENTRY);
  const l1Bytes = l1Size * 8;
  const l1Clusters = Math.max(1, Math.ceil(l1Bytes / CLUSTER));
  const usedClusters = 3 + l1Clusters;
  const fmt = Buffer.from(backingFormat, 'utf8');
  const name = Buffer.from(backingPath, 'utf8');
  const extLen = 8 + Math.ceil(fmt.length / 8) * 8 + 8;
  const backingOffset = HEADER_LENGTH + extLen;
  if (backingOffset + name.length > CLUSTER || name.length > 1023) {
    throw new RangeError('backing file name too long for a qcow2 header');
  }
  if (usedClusters > CLUSTER / 2) throw new RangeError('image too large for one refcount block');
  const buf = Buffer.alloc(3 * CLUSTER + l1Bytes);

  buf.writeUInt32BE(QCOW2_MAGIC, 0);
  buf.writeUInt32BE(3, 4);
  buf.writeBigUInt64BE(BigInt(backingOffset), 8);
  buf.writeUInt32BE(name.length, 16);
  buf.writeUInt32BE(CLUSTER_BITS, 20);
  buf.writeBigUInt64BE(BigInt(size), 24);
  buf.writeUInt32BE(0, 32); // no encryption
  buf.writeUInt32BE(l1Size, 36);
  buf.writeBigUInt64BE(BigInt(3 * CLUSTER), 40); // L1 table
  buf.writeBigUInt64BE(BigInt(CLUSTER), 48); // refcount table
  buf.writeUInt32BE(1, 56); // refcount table clusters
  // 60 nb_snapshots, 64 snapshots_offset, 72..95 feature bits: all zero.
  buf.writeUInt32BE(4, 96); // refcount_order: 16-bit refcounts, as qemu-img
  buf.writeUInt32BE(HEADER_LENGTH, 100);
  // 104: compression type zlib (0), then padding to 112.

  let off = HEADER_LENGTH;
  buf.writeUInt32BE(EXT_BACKING_FORMAT, off);
  buf.writeUInt32BE(fmt.length, off + 4);
  fmt.copy(buf, off + 8);
  off += 8 + Math.ceil(fmt.length / 8) * 8;
  off += 8; // end-of-extensions marker: type 0, length 0
  name.copy(buf, backingOffset);

  buf.writeBigUInt64BE(BigInt(2 * CLUSTER), CLUSTER); // refcount table[0] -> refcount block
  for (let c = 0; c < usedClusters; c++) buf.writeUInt16BE(1, 2 * CLUSTER + 2 * c);
  // The L1 table (all zero: nothing allocated) ends the file, as qemu-img leaves it.
  return buf;
}

/**
 * Writes an empty overlay into the already created, empty file `path` when the backing's
 * size can be read natively; returns false (writing nothing) when qemu-img is needed.
 */
export async function writeQcow2Overlay(path: string, backingPath: string, backingFormat: string): Promise<boolean> {
  const size = await backingVirtualSize(backingPath, backingFormat);
  if (size === undefined || size === 0) return false;
  const bytes = qcow2OverlayBytes(size, backingPath, backingFormat);
  const handle = await open(path, 'r+');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}
