/**
 * Which disk gets which snapshot action, decided before anything is touched (step 1 of
 * the atomic protocol): libvirt's qemuSnapshotPrepare checks for a shut-off domain, plus
 * the checks libvirt leaves to chance (locks held by another process, an internal tag
 * that already exists), each with libvirt's message where libvirt has one.
 */
import { lstat } from 'node:fs/promises';
import { isAbsolute, resolve, dirname } from 'node:path';
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import type { DomainDef, DomainDiskDef } from '../../../../conf/domain-types.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import { refuseUnsafeChain } from '../../images/chain-inspect.js';
import { errnoCode, errnoText } from '../../../../api/errno-text.js';
import { inspectImage } from '../../images/image-inspect.js';
import { readLockTable, type LockTable } from '../../images/image-lock-probe.js';
import { settleAll } from '../../../../txn/index.js';

/** An internal snapshot of one qcow2 disk: tag `tag` in `image`. */
export interface InternalDiskAction {
  kind: 'internal';
  target: string;
  image: string;
  tag: string;
}

/** An external snapshot of one disk: a qcow2 overlay on top of the disk's current image. */
export interface ExternalDiskAction {
  kind: 'external';
  target: string;
  /** The disk's current image: the overlay's backing file. */
  image: string;
  imageFormat: string;
  /** The disk is `type='block'`: its image is a block device, the only kind besides regular files snapvirt opens. */
  imageIsBlock: boolean;
  overlay: string;
  /** --reuse-external: the overlay already exists and is checked, not created. */
  reuse: boolean;
}

/** One disk's part of a snapshot. */
export type DiskAction = InternalDiskAction | ExternalDiskAction;

const unsupported = (detail: string): VirError => virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU, detail);

/** The domain disk a snapshot disk (already aligned: named by target) refers to. */
function domainDisk(domain: DomainDef, target: string): DomainDiskDef {
  const disk = domain.disks.find((d) => d.target === target);
  if (!disk) throw unsupported(`no disk named '${target}'`);
  return disk;
}

/**
 * Plans the disk actions of an offline snapshot whose disks `def.disks` were aligned against
 * `domain`. Throws libvirt's error for the first disk that cannot be snapshotted; reads
 * image headers (to check format, locks and tags) but changes nothing. Locks are judged
 * from `lockTable`, one /proc/locks reading for every disk.
 */
export async function planSnapshotDisks(
  domain: DomainDef, def: SnapshotDef, reuse: boolean, lockTable: LockTable = readLockTable(),
): Promise<DiskAction[]> {
  const actions: DiskAction[] = [];
  const modes = new Set(def.disks.map((d) => d.snapshot ?? 'no').filter((m) => m !== 'no'));
  if (modes.has('internal') && modes.has('external')) {
    throw unsupported('mixing internal and external targets for a snapshot is not yet supported');
  }
  for (const snapDisk of def.disks) {
    const mode = snapDisk.snapshot ?? 'no';
    if (mode === 'no') continue;
    const disk = domainDisk(domain, snapDisk.name);
    if (mode === 'manual') {
      throw unsupported(`'manual' snapshot mode is not supported for disk '${disk.target}' of an inactive domain`);
    }
    if (mode === 'internal') {
      if (disk.type !== 'file') throw unsupported(`internal inactive snapshots are not supported on '${disk.type}' disks`);
      const format = disk.format ?? 'raw';
      if (format !== 'qcow2') throw unsupported(`internal snapshot for disk ${disk.target} unsupported for storage type ${format}`);
      actions.push({ kind: 'internal', target: disk.target, image: sourceOf(disk), tag: def.name });
      continue;
    }
    // external
    if (disk.type !== 'file' && disk.type !== 'block') {
      throw unsupported(`external inactive snapshots are not supported on '${disk.type}' disks`);
    }
    const overlayType = snapDisk.type ?? 'file';
    if (overlayType !== 'file') throw unsupported(`external inactive snapshots are not supported on '${overlayType}' disks`);
    const overlayFormat = snapDisk.format ?? 'qcow2';
    if (overlayFormat !== 'qcow2') {
      throw unsupported(`external snapshot format for disk ${disk.target} is unsupported: ${overlayFormat}`);
    }
    const overlay = snapDisk.sourcePath;
    if (!overlay) throw unsupported(`source for disk '${disk.target}' is not a regular file; refusing to generate external snapshot name`);
    if (!isAbsolute(overlay)) {
      throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN_SNAPSHOT, `disk snapshot image path '${overlay}' must be absolute`);
    }
    actions.push({ kind: 'external', target: disk.target, image: sourceOf(disk), imageFormat: disk.format ?? 'raw', imageIsBlock: disk.type === 'block', overlay, reuse });
  }
  if (actions.length === 0) throw unsupported('nothing selected for snapshot');
  const seen = new Set<string>();
  for (const a of actions) {
    if (a.kind !== 'external') continue;
    if (seen.has(a.overlay)) throw unsupported(`duplicate external snapshot file '${a.overlay}'`);
    seen.add(a.overlay);
  }
  // The checks only read: run them for all disks at once, but report the first disk's error.
  await settleAll(actions.map((a) => checkDiskAction(a, lockTable)));
  return actions;
}

function sourceOf(disk: DomainDiskDef): string {
  if (!disk.sourcePath) throw unsupported(`disk '${disk.target}' has no source`);
  return disk.sourcePath;
}

/** The filesystem and image checks for one planned action (read-only). */
async function checkDiskAction(a: DiskAction, lockTable: LockTable): Promise<void> {
  if (a.kind === 'internal') {
    // An image another process holds (a running VM) is refused here, before anything changes.
    const info = await inspectImage(a.image, 'qcow2', { access: 'write', lockTable }).catch((e: unknown) => { throw imageError(a.image, e); });
    if (info.snapshots.some((s) => s.name === a.tag)) {
      throw unsupported(`disk '${a.target}' image '${a.image}' already has an internal snapshot named '${a.tag}'`);
    }
    // qemu-img snapshot opens the chain: nothing in it may be left for qemu to probe.
    await refuseUnsafeChain({ path: a.image, format: 'qcow2' });
    return;
  }
  await inspectImage(a.image, a.imageFormat, { access: 'read', lockTable, allowBlock: a.imageIsBlock })
    .catch((e: unknown) => { throw imageError(a.image, e); });
  // The overlay is written natively, without opening the chain below: a loop or a layer of
  // unrecorded format would only show when QEMU opens it (libvirt refuses both when it
  // reads the chain), and then QEMU would probe.
  await refuseUnsafeChain({ path: a.image, format: a.imageFormat });
  let exists = true;
  let isBlock = false;
  try {
    const st = await lstat(a.overlay);
    isBlock = st.isBlockDevice();
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') {
      throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, `unable to stat for disk ${a.target}: ${a.overlay}: ${errnoText(err)}`);
    }
    exists = false;
  }
  if (!a.reuse) {
    if (exists && !isBlock) {
      throw unsupported(`external snapshot file for disk ${a.target} already exists and is not a block device: ${a.overlay}`);
    }
    if (isBlock) throw unsupported(`external inactive snapshots are not supported on 'block' disks`);
    return;
  }
  if (!exists) {
    throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, `missing existing file for disk ${a.target}: ${a.overlay}`);
  }
  // --reuse-external: the pre-created overlay must sit on exactly the disk's current image,
  // or the snapshot would silently present other data.
  const info = await inspectImage(a.overlay, 'qcow2', { access: 'read', lockTable }).catch((e: unknown) => { throw imageError(a.overlay, e); });
  const backing = info.backingFilename === undefined ? undefined : resolve(dirname(a.overlay), info.backingFilename);
  if (info.format !== 'qcow2' || backing !== resolve(a.image) || (info.backingFormat ?? a.imageFormat) !== a.imageFormat) {
    throw unsupported(`existing external snapshot file '${a.overlay}' for disk ${a.target} must be a qcow2 image backed by '${a.image}' (${a.imageFormat})`);
  }
}

/** Wraps a qemu-img failure on an image with the image's name (the lock text stays visible). */
function imageError(image: string, e: unknown): unknown {
  if (e instanceof VirError) {
    return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `cannot use image '${image}': ${e.detail}`);
  }
  return e;
}
