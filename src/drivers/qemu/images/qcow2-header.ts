/**
 * Reading a qcow2 image's header natively: format, virtual size, backing file and format,
 * dirty and corrupt bits, and the internal snapshot table. It answers what snapvirt used to
 * ask `qemu-img info` (one ~10–30 ms process per disk per check) with two or three small
 * reads. The layout is qemu's docs/interop/qcow2.txt; anything this reader does not fully
 * understand (an unknown incompatible feature, an external data file, a header that does
 * not add up) yields `undefined`, and the caller asks qemu-img instead, so an odd image is
 * never judged by a partial reading.
 */
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

const QCOW2_MAGIC = 0x514649fb;
const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_EXTERNAL_DATA_FILE = 0x44415441;
/** Incompatible feature bits qemu 7.2 knows: dirty, corrupt, external data file, compression type, extended L2. */
const KNOWN_INCOMPATIBLE = 0b11111n;
const INCOMPAT_DIRTY = 1n;
const INCOMPAT_CORRUPT = 2n;
const INCOMPAT_DATA_FILE = 4n;
/** qemu's own limits (QCOW_MAX_SNAPSHOTS, and a sane bound on a backing name). */
const MAX_SNAPSHOTS = 65536;
const MAX_BACKING_NAME = 1023;
const MAX_SNAPSHOT_TABLE_BYTES = 64 * 1024 * 1024;

/** One internal snapshot, as qemu-img info lists it. */
export interface Qcow2Snapshot {
  /** The unique ID string ("1", "2"…): qemu-img snapshot -a matches it before names. */
  id: string;
  name: string;
  vmStateSize: number;
  dateSec: number;
}

/** What the header says about one qcow2 image. */
export interface Qcow2Header {
  version: 2 | 3;
  virtualSize: number;
  clusterBits: number;
  /** The backing name as stored (may be relative or a json: pseudo-filename). */
  backingFilename?: string;
  /** The backing name resolved against the image's directory, as qemu-img's full-backing-filename. */
  fullBackingFilename?: string;
  backingFormat?: string;
  dirty: boolean;
  corrupt: boolean;
  snapshots: Qcow2Snapshot[];
}

/** Reads exactly `length` bytes at `offset`, or returns undefined at end of file. */
async function readAt(handle: FileHandle, offset: number, length: number): Promise<Buffer | undefined> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
    if (bytesRead === 0) return undefined;
    done += bytesRead;
  }
  return buf;
}

function safeNumber(v: bigint): number | undefined {
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
}

/** True when the first four bytes of `handle`'s file are the qcow2 magic. */
export async function hasQcow2Magic(handle: FileHandle): Promise<boolean> {
  const head = await readAt(handle, 0, 4);
  return head !== undefined && head.readUInt32BE(0) === QCOW2_MAGIC;
}

/** The backing link of a qcow2 header: the name as stored, resolved, and the recorded format. */
export interface Qcow2BackingLink {
  backingFilename: string;
  /** Resolved against the image's directory; json: pseudo-filenames verbatim. */
  fullBackingFilename: string;
  /** The backing format extension; undefined when the header records none. */
  backingFormat?: string;
}

/**
 * Only the backing link of the qcow2 image open as `handle`: null when the file is not
 * qcow2, undefined when it has no backing file. Unlike {@link readQcow2Header} it does not
 * judge feature bits or the snapshot table: reachability must see a link even in an image
 * qemu would refuse to open, or a file below it would look unneeded.
 */
export async function readQcow2BackingLink(handle: FileHandle, path: string): Promise<Qcow2BackingLink | null | undefined> {
  const fixed = await readAt(handle, 0, 104) ?? await readAt(handle, 0, 72);
  if (!fixed || fixed.readUInt32BE(0) !== QCOW2_MAGIC) return null;
  const version = fixed.readUInt32BE(4);
  const backingOffset = safeNumber(fixed.readBigUInt64BE(8));
  const backingSize = fixed.readUInt32BE(16);
  if (backingOffset === undefined || backingOffset === 0 || backingSize === 0) return undefined;
  if (backingSize > MAX_BACKING_NAME) return null;
  const nameBytes = await readAt(handle, backingOffset, backingSize);
  if (!nameBytes) return null;
  const name = nameBytes.toString('utf8');
  const link: Qcow2BackingLink = {
    backingFilename: name,
    fullBackingFilename: name.startsWith('json:') ? name : resolve(dirname(path), name),
  };
  const clusterBits = fixed.readUInt32BE(20);
  const headerLength = version >= 3 && fixed.length >= 104 ? fixed.readUInt32BE(100) : 72;
  if (clusterBits < 9 || clusterBits > 21 || headerLength < 72) return link;
  for (let off = headerLength; off + 8 <= Math.min(backingOffset, 1 << clusterBits);) {
    const ext = await readAt(handle, off, 8);
    if (!ext) break;
    const type = ext.readUInt32BE(0);
    const length = ext.readUInt32BE(4);
    if (type === EXT_END || off + 8 + length > backingOffset) break;
    if (type === EXT_BACKING_FORMAT) {
      const data = await readAt(handle, off + 8, length);
      if (data) link.backingFormat = data.toString('utf8');
      break;
    }
    off += 8 + Math.ceil(length / 8) * 8;
  }
  return link;
}

/**
 * Parses the header of the qcow2 image open as `handle` (whose path is `path`, used to
 * resolve a relative backing name). Undefined when the file is not qcow2 or has anything
 * this reader does not handle: the caller then falls back to qemu-img.
 */
export async function readQcow2Header(handle: FileHandle, path: string): Promise<Qcow2Header | undefined> {
  const fixed = await readAt(handle, 0, 104);
  if (!fixed || fixed.readUInt32BE(0) !== QCOW2_MAGIC) return undefined;
  const version = fixed.readUInt32BE(4);
  if (version !== 2 && version !== 3) return undefined;
  const backingOffset = safeNumber(fixed.readBigUInt64BE(8));
  const backingSize = fixed.readUInt32BE(16);
  const clusterBits = fixed.readUInt32BE(20);
  const virtualSize = safeNumber(fixed.readBigUInt64BE(24));
  const nbSnapshots = fixed.readUInt32BE(60);
  const snapshotsOffset = safeNumber(fixed.readBigUInt64BE(64));
  if (backingOffset === undefined || virtualSize === undefined || snapshotsOffset === undefined) return undefined;
  if (clusterBits < 9 || clusterBits > 21 || backingSize > MAX_BACKING_NAME || nbSnapshots > MAX_SNAPSHOTS) return undefined;

  let incompatible = 0n;
  let headerLength = 72;
  if (version === 3) {
    incompatible = fixed.readBigUInt64BE(72);
    headerLength = fixed.readUInt32BE(100);
    if (headerLength < 104 || headerLength % 8 !== 0 || headerLength >= 1 << clusterBits) return undefined;
  }
  if ((incompatible & ~KNOWN_INCOMPATIBLE) !== 0n || (incompatible & INCOMPAT_DATA_FILE) !== 0n) return undefined;

  // Header extensions: only the backing format matters here. A data file extension means
  // the image's data lives elsewhere: not ours to judge natively.
  let backingFormat: string | undefined;
  const extEnd = backingOffset !== 0 && backingSize !== 0 ? backingOffset : 1 << clusterBits;
  for (let off = headerLength; off + 8 <= extEnd;) {
    const ext = await readAt(handle, off, 8);
    if (!ext) return undefined;
    const type = ext.readUInt32BE(0);
    const length = ext.readUInt32BE(4);
    if (type === EXT_END) break;
    if (off + 8 + length > extEnd) return undefined;
    if (type === EXT_EXTERNAL_DATA_FILE) return undefined;
    if (type === EXT_BACKING_FORMAT) {
      const data = await readAt(handle, off + 8, length);
      if (!data) return undefined;
      backingFormat = data.toString('utf8');
    }
    off += 8 + Math.ceil(length / 8) * 8;
  }

  const header: Qcow2Header = {
    version, virtualSize, clusterBits,
    dirty: (incompatible & INCOMPAT_DIRTY) !== 0n,
    corrupt: (incompatible & INCOMPAT_CORRUPT) !== 0n,
    snapshots: [],
  };
  if (backingOffset !== 0 && backingSize !== 0) {
    const name = await readAt(handle, backingOffset, backingSize);
    if (!name) return undefined;
    const text = name.toString('utf8');
    header.backingFilename = text;
    // qemu-img resolves a relative name against the image's directory; json: names are kept.
    header.fullBackingFilename = text.startsWith('json:') ? text : resolve(dirname(path), text);
    if (backingFormat !== undefined) header.backingFormat = backingFormat;
  }
  if (nbSnapshots > 0) {
    const snapshots = await readSnapshotTable(handle, snapshotsOffset, nbSnapshots);
    if (!snapshots) return undefined;
    header.snapshots = snapshots;
  }
  return header;
}

/**
 * The snapshot table: per entry a 40-byte fixed part, extra data, the ID string and the
 * name, padded to 8 bytes. Read in growing chunks (an entry is about 64 bytes), never
 * past qemu's own bound on the table's size.
 */
async function readSnapshotTable(handle: FileHandle, offset: number, count: number): Promise<Qcow2Snapshot[] | undefined> {
  if (offset === 0) return undefined;
  let table = Buffer.alloc(0);
  const ensure = async (end: number): Promise<boolean> => {
    if (end <= table.length) return true;
    if (end > MAX_SNAPSHOT_TABLE_BYTES) return false;
    const want = Math.min(MAX_SNAPSHOT_TABLE_BYTES, Math.max(end, table.length * 2, 4096));
    const more = Buffer.alloc(want - table.length);
    const { bytesRead } = await handle.read(more, 0, more.length, offset + table.length);
    table = Buffer.concat([table, more.subarray(0, bytesRead)]);
    return end <= table.length;
  };
  const snapshots: Qcow2Snapshot[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    if (!(await ensure(off + 40))) return undefined;
    const idSize = table.readUInt16BE(off + 12);
    const nameSize = table.readUInt16BE(off + 14);
    const dateSec = table.readUInt32BE(off + 16);
    const vmStateSize32 = table.readUInt32BE(off + 32);
    const extraSize = table.readUInt32BE(off + 36);
    const entryEnd = off + 40 + extraSize + idSize + nameSize;
    if (!(await ensure(entryEnd))) return undefined;
    // Extra data starts with the 64-bit VM state size, which supersedes the 32-bit one.
    const vmStateSize = extraSize >= 8 ? safeNumber(table.readBigUInt64BE(off + 40)) : vmStateSize32;
    if (vmStateSize === undefined) return undefined;
    const idStart = off + 40 + extraSize;
    snapshots.push({
      id: table.toString('utf8', idStart, idStart + idSize),
      name: table.toString('utf8', idStart + idSize, entryEnd),
      vmStateSize,
      dateSec,
    });
    off = Math.ceil(entryEnd / 8) * 8;
  }
  return snapshots;
}
