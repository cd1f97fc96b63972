/**
 * How much data a qcow2 layer holds of its own: the clusters its L2 tables map (data,
 * compressed or zero), read natively from the L1 and L2 tables (qemu's
 * docs/interop/qcow2.txt). A merge of the layer into the image below writes at most
 * those clusters, so this is what bounds the free space a merge needs. Only images whose
 * format is known to be qcow2 (snapvirt's own overlays) are read; a guest's raw data is
 * never parsed.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { readQcow2Header } from './qcow2-header.js';

/** The parts of a qcow2 layout a space bound needs. */
export interface Qcow2Allocation {
  clusterSize: number;
  virtualSize: number;
  /** Clusters the L2 tables map in this layer (not its metadata). */
  mappedClusters: number;
  /** L2 entries per table (cluster size / 8, or / 16 with extended L2 entries). */
  l2Entries: number;
}

const INCOMPAT_EXTENDED_L2 = 16n;
/** Bits 9-55 of an L1 or standard L2 entry: the host offset. */
const OFFSET_MASK = 0x00fffffffffffe00n;
/** Bit 63 of an L2 entry: COPIED (refcount is 1), says nothing about allocation. */
const COPIED = 1n << 63n;
/** qemu's bound on an L1 table (QCOW_MAX_L1_SIZE, 32 MiB of entries). */
const MAX_L1_BYTES = 32 * 1024 * 1024;

async function readExactly(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
    if (bytesRead === 0) break; // past the end: the rest reads as zeroes (unallocated)
    done += bytesRead;
  }
  return buf;
}

/** Reads the allocation of the qcow2 image at `path`; undefined when its header is not one this reader handles. */
export async function readQcow2Allocation(path: string): Promise<Qcow2Allocation | undefined> {
  const handle = await open(path, 'r');
  try {
    const header = await readQcow2Header(handle, path);
    if (!header) return undefined;
    const fixed = await readExactly(handle, 0, 104);
    const clusterSize = 2 ** header.clusterBits;
    const l1Size = fixed.readUInt32BE(36);
    const l1Offset = Number(fixed.readBigUInt64BE(40));
    const extendedL2 = header.version === 3 && (fixed.readBigUInt64BE(72) & INCOMPAT_EXTENDED_L2) !== 0n;
    const entryBytes = extendedL2 ? 16 : 8;
    const l2Entries = clusterSize / entryBytes;
    if (l1Size * 8 > MAX_L1_BYTES) return undefined;
    const l1 = await readExactly(handle, l1Offset, l1Size * 8);
    let mappedClusters = 0;
    for (let i = 0; i < l1Size; i++) {
      const l2Offset = Number(l1.readBigUInt64BE(i * 8) & OFFSET_MASK);
      if (l2Offset === 0) continue;
      const l2 = await readExactly(handle, l2Offset, clusterSize);
      for (let j = 0; j < l2Entries; j++) {
        const entry = l2.readBigUInt64BE(j * entryBytes) & ~COPIED;
        const bitmap = extendedL2 ? l2.readBigUInt64BE(j * entryBytes + 8) : 0n;
        if (entry !== 0n || bitmap !== 0n) mappedClusters++;
      }
    }
    return { clusterSize, virtualSize: header.virtualSize, mappedClusters, l2Entries };
  } finally {
    await handle.close();
  }
}

/**
 * Bytes that writing `layer`'s mapped clusters into an image below can allocate there:
 * for a raw image, the data itself; for a qcow2 image of cluster size `below.clusterSize`,
 * every cluster written may land in a new cluster of its own (a larger cluster is
 * allocated whole), plus the L2 tables and refcount blocks those need, plus a few
 * clusters for the refcount table to move. Never below what the merge writes.
 */
export function mergeSpaceBound(layer: Qcow2Allocation, below: { format: 'raw' } | { format: 'qcow2'; clusterSize: number; virtualSize: number }): number {
  const data = layer.mappedClusters * layer.clusterSize;
  if (below.format === 'raw' || layer.mappedClusters === 0) return data;
  const cb = below.clusterSize;
  const newClusters = layer.mappedClusters * Math.ceil(Math.max(layer.clusterSize, cb) / cb);
  const l2Tables = Math.min(newClusters, Math.ceil(below.virtualSize / (cb * (cb / 8))) + 1);
  // One refcount block covers cb / 8 clusters even with the widest (64-bit) refcounts.
  const refcountBlocks = Math.ceil((newClusters + l2Tables) / (cb / 8)) + 1;
  const REFCOUNT_TABLE_SLACK = 3;
  return cb * (newClusters + l2Tables + refcountBlocks + REFCOUNT_TABLE_SLACK);
}
