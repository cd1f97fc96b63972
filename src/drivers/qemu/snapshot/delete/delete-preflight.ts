/**
 * The checks a snapshot delete makes before its commit point, as create and revert do.
 * A delete's disk work (merging an overlay into the image below, removing tags and files)
 * runs after the metadata is committed; a fault found only then would leave the delete
 * reported done with its merge pending. So everything the disk work will need is checked
 * first, and a delete that could not finish is refused with nothing changed:
 *
 * - every file it opens exists, is a regular file (or a block device) and has the format
 *   expected: known from the definition or snapvirt's records, read only for qcow2 (a
 *   file declared raw is never parsed); offline, the backing chain qemu-img commit opens
 *   below the merge's base too;
 * - every file it writes opens read-write (a real open, as qemu-img and QEMU's reopen
 *   will do: access(W_OK) is another question, and answers yes to root where the open fails);
 * - every directory it removes a file from lets it (no immutable or append-only
 *   attribute, read by lsattr; then a real create and unlink of a probe file);
 * - every file system it writes to has the free space the merges and tag removals can
 *   take (an upper bound from the overlay's own L2 tables, never below what is written),
 *   and, for a live merge, its undo image beside the overlay.
 *
 * What can still fail after the commit point (the space taken meanwhile by someone else,
 * a guest writing more during a live merge, an I/O error) is left to the journal's
 * post-commit retry: see docs/RELIABILITY.md.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain, type VirError } from '../../../../api/errors.js';
import { errnoCode, errnoText } from '../../../../api/errno-text.js';
import { internalSnapshotNeed } from '../../images/internal-snapshot-space.js';
import { mergeSpaceBound, readQcow2Allocation } from '../../images/qcow2-allocation.js';
import { openImageFile } from '../../images/image-file-open.js';
import { hasQcow2Magic, readQcow2Header } from '../../images/qcow2-header.js';

const Q = VirErrorDomain.QEMU;
/** qemu's own bound on a backing chain's depth (BDRV_BACKING_CHAIN_MAX… generously). */
const MAX_CHAIN = 256;

/** One layer merged into the layer below it. */
export interface PlannedMerge {
  overlay: string;
  base: string;
  baseFormat: string;
  /** Images whose backing is re-pointed from the overlay to the base (written). */
  children: string[];
  /** Offline, qemu-img opens the whole chain below the base by path; a running QEMU has it open already. */
  opensChainBelowBase: boolean;
  /** Whether the overlay itself is opened read-write (qemu-img commit opens its top so). */
  writesOverlay: boolean;
  /** An undoable merge also writes the base's old bytes to an undo image beside the overlay. */
  keepsUndo?: boolean;
}

/** Everything a delete's post-commit work will touch. */
export interface DeleteWork {
  snapshot: string;
  merges: PlannedMerge[];
  /** Internal tags removed: the image is written. */
  tagRemovals: { image: string; tag: string }[];
  /** Files removed outright (abandoned overlays). */
  removals: string[];
}

function systemError(message: string): VirError {
  return virError(VirErrorCode.SYSTEM_ERROR, Q, message);
}

function failed(message: string): VirError {
  return virError(VirErrorCode.OPERATION_FAILED, Q, message);
}

function uidGid(): string {
  return `(as uid:${process.getuid?.() ?? 0}, gid:${process.getgid?.() ?? 0})`;
}

/** Exists and is a regular file or a block device, else libvirt's "Cannot access storage file" error. */
export async function requirePresent(path: string, parent: string | undefined): Promise<{ block: boolean }> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw systemError(parent === undefined
      ? `Cannot access storage file '${path}' ${uidGid()}: ${errnoText(err)}`
      : `Cannot access backing file '${path}' of storage file '${parent}' ${uidGid()}: ${errnoText(err)}`);
  }
  if (!st.isFile() && !st.isBlockDevice()) throw failed(`storage file '${path}' is not a regular file or block device`);
  return { block: st.isBlockDevice() };
}

/** For a file recorded as qcow2: its first bytes must say so (nothing else is read). */
async function requireQcow2(path: string): Promise<void> {
  const handle = await openImageFile(path, { allowBlock: true });
  try {
    if (!(await hasQcow2Magic(handle))) throw failed(`image '${path}' is not in qcow2 format, which its records say it is`);
  } finally {
    await handle.close();
  }
}

/**
 * The chain below `image` (format `format`) that qemu-img opens with it: each qcow2 layer's
 * header names its backing and that backing's format; a layer whose format is not
 * recorded as qcow2 is checked for presence only, never parsed.
 */
async function requireChainBelow(image: string, format: string): Promise<void> {
  let path = image;
  let fmt = format;
  for (let depth = 0; fmt === 'qcow2' && depth < MAX_CHAIN; depth++) {
    const handle = await openImageFile(path, { allowBlock: true });
    let next: { path: string; format: string | undefined } | undefined;
    try {
      const header = await readQcow2Header(handle, path);
      // A header this reader does not handle, or a backing that is no plain path (json:,
      // nbd://…): qemu-img judges it.
      if (!header?.fullBackingFilename || /^[a-z][a-z0-9+.-]*:/i.test(header.backingFilename ?? '')) return;
      next = { path: header.fullBackingFilename, format: header.backingFormat };
    } finally {
      await handle.close();
    }
    await requirePresent(next.path, path);
    path = next.path;
    fmt = next.format ?? 'raw';
  }
}

/** A real read-write open (no O_CREAT, no truncation): what qemu-img and QEMU's reopen will do. */
async function requireWritable(path: string, snapshot: string): Promise<void> {
  try {
    const handle = await open(path, constants.O_RDWR | constants.O_NOCTTY);
    await handle.close();
  } catch (err) {
    const why = errnoCode(err) === 'EPERM' ? `${errnoText(err)} (immutable or append-only attribute?)` : errnoText(err);
    throw systemError(`cannot delete snapshot '${snapshot}': unable to open '${path}' for writing: ${why}`);
  }
}

/** The attribute letters lsattr prints for `path` ('' when it cannot say: no lsattr, a file system without attributes). */
function fileAttributes(path: string, directory: boolean): Promise<string> {
  return new Promise((resolve) => {
    execFile('lsattr', directory ? ['-d', '--', path] : ['--', path], { timeout: 10_000 }, (err, stdout) => {
      resolve(err ? '' : String(stdout).trim().split(/\s+/)[0] ?? '');
    });
  });
}

/** `path` can be unlinked: neither it nor its directory immutable or append-only, and the directory takes a real create and unlink. */
async function requireRemovable(path: string, snapshot: string, probedDirs: Map<string, Promise<string | undefined>>): Promise<void> {
  const attrs = await fileAttributes(path, false);
  if (attrs.includes('i') || attrs.includes('a')) {
    throw systemError(`cannot delete snapshot '${snapshot}': cannot remove '${path}': Operation not permitted (${attrs.includes('i') ? 'immutable' : 'append-only'} attribute)`);
  }
  const dir = dirname(path);
  let probe = probedDirs.get(dir);
  if (!probe) probedDirs.set(dir, (probe = directoryProblem(dir)));
  const problem = await probe;
  if (problem !== undefined) throw systemError(`cannot delete snapshot '${snapshot}': cannot remove '${path}': ${problem}`);
}

/** Why files cannot be removed from `dir`, or undefined when a probe file could be created and removed there. */
async function directoryProblem(dir: string): Promise<string | undefined> {
  const attrs = await fileAttributes(dir, true);
  if (attrs.includes('i') || attrs.includes('a')) {
    return `directory '${dir}' has the ${attrs.includes('i') ? 'immutable' : 'append-only'} attribute: Operation not permitted`;
  }
  const probe = join(dir, `.snapvirt-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(probe, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    await handle.close();
  } catch (err) {
    return `directory '${dir}' is not writable: ${errnoText(err)}`;
  }
  try {
    await unlink(probe);
  } catch (err) {
    return `directory '${dir}' does not let files be removed: ${errnoText(err)}`;
  }
  return undefined;
}

/** Bytes merging `m` can allocate in its base (0 for a block device: nothing to allocate). */
async function mergeNeed(m: PlannedMerge): Promise<number> {
  const layer = await readQcow2Allocation(m.overlay);
  if (!layer) return 0; // a header this reader does not handle: qemu-img reports what goes wrong
  if (m.baseFormat !== 'qcow2') return mergeSpaceBound(layer, { format: 'raw' });
  const handle = await openImageFile(m.base, { allowBlock: true });
  try {
    const header = await readQcow2Header(handle, m.base);
    const cb = header ? 2 ** header.clusterBits : 2 * 1024 * 1024;
    return mergeSpaceBound(layer, { format: 'qcow2', clusterSize: cb, virtualSize: header?.virtualSize ?? layer.virtualSize });
  } finally {
    await handle.close();
  }
}

/** Refuses when the file systems written to do not have the room the work needs together. */
async function requireSpace(snapshot: string, needs: { file: string; bytes: number }[]): Promise<void> {
  const byDevice = new Map<number, { dir: string; need: number }>();
  for (const { file, bytes } of needs) {
    if (bytes === 0) continue;
    const dev = (await stat(file)).dev;
    const entry = byDevice.get(dev) ?? { dir: dirname(file), need: 0 };
    entry.need += bytes;
    byDevice.set(dev, entry);
  }
  for (const { dir, need } of byDevice.values()) {
    const fs = await statfs(dir);
    const free = fs.bavail * fs.bsize;
    if (free < need) {
      throw systemError(`cannot delete snapshot '${snapshot}': No space left on device: merging its disks needs up to ` +
        `${Math.ceil(need / 1024)} KiB free on the file system of '${dir}', ${Math.floor(free / 1024)} KiB are free`);
    }
  }
}

/**
 * Checks that the disk work of a delete can be done (see the module comment); throws
 * libvirt-style errors and changes nothing. The first problem in plan order is reported.
 */
export async function checkDeleteWork(work: DeleteWork): Promise<void> {
  const { snapshot } = work;
  const probedDirs = new Map<string, Promise<string | undefined>>();
  const needs: { file: string; bytes: number }[] = [];
  for (const m of work.merges) {
    await requirePresent(m.overlay, undefined);
    await requireQcow2(m.overlay);
    const base = await requirePresent(m.base, m.overlay);
    if (m.baseFormat === 'qcow2') await requireQcow2(m.base);
    if (m.opensChainBelowBase) await requireChainBelow(m.base, m.baseFormat);
    for (const child of m.children) {
      await requirePresent(child, undefined);
      await requireQcow2(child);
    }
    if (m.writesOverlay) await requireWritable(m.overlay, snapshot);
    await requireWritable(m.base, snapshot);
    for (const child of m.children) await requireWritable(child, snapshot);
    await requireRemovable(m.overlay, snapshot, probedDirs);
    if (!base.block) needs.push({ file: m.base, bytes: await mergeNeed(m) });
    // The old bytes the merge overwrites: at most as much as it writes.
    if (m.keepsUndo) needs.push({ file: m.overlay, bytes: await mergeNeed({ ...m, baseFormat: 'raw' }) });
  }
  for (const t of work.tagRemovals) {
    await requirePresent(t.image, undefined);
    await requireQcow2(t.image);
    await requireWritable(t.image, snapshot);
    needs.push({ file: t.image, bytes: await internalSnapshotNeed(t.image, t.tag) });
  }
  for (const path of work.removals) {
    const present = await stat(path).then(() => true, () => false);
    if (present) await requireRemovable(path, snapshot, probedDirs);
  }
  await requireSpace(snapshot, needs);
}
