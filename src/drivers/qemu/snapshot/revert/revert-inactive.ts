/**
 * virDomainRevertToSnapshot for a shut-off QEMU domain.
 *
 * Internal: every disk's qcow2 is applied to the snapshot's tag, after a temporary tag is
 * taken as the way back (undo applies it; after the commit point it is dropped). When
 * another image reads through that qcow2 (an external snapshot's overlay sits on it),
 * applying the tag would change what the overlay presents, so the tag's data is copied
 * into a new image (qemu-img convert -l) and the disk switched to it instead.
 *
 * External (libvirt 9.9's model): new empty overlays are created on top of the images the
 * snapshot froze, and the domain switches to them; the branch being left keeps its files.
 */
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { ShutoffReason, SnapshotRevertFlags as R } from '../../../../api/flags.js';
import { cloneDomainDef } from '../../../../conf/domain-xml.js';
import type { DomainDef } from '../../../../conf/domain-types.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import { isExternalSnapshot } from '../../../../snapshot/list-filter.js';
import type { SnapshotTree } from '../../../../snapshot/snapshot-tree.js';
import type { Store } from '../../../../store/index.js';
import type { TxnContext, DomainLock, Step } from '../../../../txn/index.js';
import type { DomainRef } from '../../../driver.js';
import { findChildImages, notQcow2Paths, refuseUnsafeChain } from '../../images/chain-inspect.js';
import type { AppliedTagResource, DiskResource } from '../../journal/disk-resources.js';
import { discardableImages, warnKept } from '../../images/image-reachability.js';
import { rootsOf } from '../../images/image-users.js';
import { updateOfflineDomainState } from '../../catalog/domain-state.js';
import { runInactiveOperation, type InactiveStep } from '../../journal/inactive-operation.js';
import { nvramRestoreSteps } from '../../firmware/nvram-snapshot.js';
import { tpmRestoreSteps } from '../../tpm/tpm-snapshot.js';
import { claimNewFile, createImageFromInternalSnapshot, createOverlayFile } from '../../images/overlay-file.js';
import { inspectImage } from '../../images/image-inspect.js';
import { snapshotApply, snapshotCreate } from '../../images/qemu-img.js';
import { loadDomain, loadTree, saveTree, storeDomainDefinition, type LoadedDomain } from '../../catalog/snapshot-catalog.js';
import { checkQemuFlags } from '../../qemu-flags.js';
import { refuseGroupMemberRevert } from '../../group/group-membership.js';
import { pointDiskAt } from '../../domain/point-disk.js';

const Q = VirErrorDomain.QEMU;

/** Every directory holding an image the domain or one of its snapshots refers to. */
export function knownImageDirs(domain: DomainDef, tree: SnapshotTree): Set<string> {
  const dirs = new Set<string>();
  const addDomain = (d: DomainDef | undefined): void => {
    for (const disk of d?.disks ?? []) if (disk.sourcePath) dirs.add(dirname(disk.sourcePath));
  };
  addDomain(domain);
  for (const node of tree.all()) {
    addDomain(node.def.domain);
    for (const disk of node.def.disks) if (disk.sourcePath) dirs.add(dirname(disk.sourcePath));
  }
  return dirs;
}

/**
 * The images a revert to `snap` works from: tags applied or copied out, new overlays built
 * on. Pending post-commit work on them (a merge a delete could not finish) must finish first.
 */
export function revertedImages(snap: SnapshotDef): string[] {
  return snap.disks.flatMap((sd) => {
    if (sd.snapshot !== 'internal' && sd.snapshot !== 'external') return [];
    const image = snap.domain?.disks.find((d) => d.target === sd.name)?.sourcePath;
    return image ? [image] : [];
  });
}

/** Reverts shut-off domain `dom` to snapshot `name`. */
export async function revertInactiveSnapshot(ctx: TxnContext, lock: DomainLock, dom: DomainRef, name: string, flags: number): Promise<void> {
  checkQemuFlags(flags, 'revertToSnapshot');
  refuseGroupMemberRevert(ctx.store, dom, name, (flags & R.FORCE) !== 0);
  const planned = await planInactiveRevert(ctx, loadDomain(ctx.store, dom), name, flags);
  await runInactiveOperation(ctx, lock, {
    kind: 'revert',
    domainUuid: planned.domainUuid,
    domainName: planned.domainName,
    summary: { snapshot: name, flags },
    steps: planned.steps,
    extraSteps: planned.firmwareSteps,
    cleanup: planned.cleanup,
    touches: planned.touches,
    commit: () => planned.commit(ctx.store),
  });
  planned.warnKept();
}

/** A checked offline revert, ready to run. */
export interface PlannedInactiveRevert {
  domainUuid: string;
  domainName: string;
  steps: InactiveStep[];
  /** The NVRAM's restore, journaled after the disks in the same entry. */
  firmwareSteps: Step[];
  /** Post-commit work: dropping undo tags, removing files the reverted-away state alone used. */
  cleanup: DiskResource[];
  touches: string[];
  /** The metadata: runs inside the commit transaction. */
  commit(store: Store): void;
  /** Warns of the files kept as they are (after the commit). */
  warnKept(): void;
}

/**
 * Every check of an offline revert of `loaded` to its snapshot `name` (under its held
 * lock) and the plan that results; nothing is changed. Shared with a group's revert.
 */
export async function planInactiveRevert(ctx: TxnContext, loaded: LoadedDomain, name: string, flags: number): Promise<PlannedInactiveRevert> {
  const store: Store = ctx.store;
  const { record, def: domain } = loaded;
  const tree = loadTree(store, record.uuid);
  const snap = tree.get(name, Q).def;
  if (snap.disks.some((d) => d.deleteInProgress)) {
    throw virError(VirErrorCode.OPERATION_INVALID, Q, `snapshot '${name}' is being deleted`);
  }
  if (!snap.domain) {
    throw virError(VirErrorCode.SNAPSHOT_REVERT_RISKY, Q, `snapshot '${name}' lacks domain '${record.name}' rollback info`);
  }
  if ((flags & (R.RUNNING | R.PAUSED)) || snap.state === 'running' || snap.state === 'paused') {
    throw virError(VirErrorCode.NO_SUPPORT, Q,
      `revert to snapshot '${name}': starting the domain needs the live QEMU driver, which this build lacks`);
  }
  const target = cloneDomainDef(snap.domain);
  // The current state is thrown away by a revert: files snapvirt made for it (an earlier
  // revert's overlay nobody snapshotted) go with it, after the commit point. The snapshot's
  // own images are named by its metadata, so they always stay.
  const plan = await discardableImages(store, record.uuid, { domain, tree }, { domain: target, tree });
  const discard = plan.discard;
  const steps = isExternalSnapshot(snap)
    ? await externalRevertSteps(snap, target)
    : await internalRevertSteps(snap, target, knownImageDirs(domain, tree), notQcow2Paths(rootsOf(domain, tree)), new Set(discard));
  const cleanup: DiskResource[] = [
    ...steps.map((s) => s.resource).filter((r): r is AppliedTagResource => r.kind === 'applied-tag'),
    ...discard.map((path): DiskResource => ({ kind: 'removed-file', path })),
  ];
  const created = steps.map((s) => s.resource).filter((r) => r.kind === 'created-file').map((r) => (r as { path: string }).path);
  return {
    domainUuid: record.uuid,
    domainName: record.name,
    steps,
    firmwareSteps: [...nvramRestoreSteps(store.stateDir, record.uuid, target, name), ...tpmRestoreSteps(store.stateDir, record.uuid, target, name)],
    cleanup,
    touches: revertedImages(snap),
    commit() {
      storeDomainDefinition(store, record.uuid, target);
      tree.setCurrent(name);
      saveTree(store, record.uuid, tree);
      updateOfflineDomainState(store, record.uuid, { created, forgotten: discard, shutoffReason: ShutoffReason.FROM_SNAPSHOT });
    },
    warnKept() {
      warnKept(ctx.warn, `revert of domain '${record.name}' to snapshot '${name}'`, plan);
    },
  };
}

/** Checks and steps of an internal revert: one applied-tag resource per internal disk. */
async function internalRevertSteps(
  snap: SnapshotDef, target: DomainDef, dirs: Set<string>, notImages: Set<string>, discarded: Set<string>,
): Promise<InactiveStep[]> {
  const undoTag = `snapvirt-revert-${randomBytes(6).toString('hex')}`;
  const taken = new Set<string>();
  // The checks only read (image headers, directory scans): run them for every disk at
  // once, then report the first disk's error, as a sequential check would.
  const planDisk = async (sd: SnapshotDef['disks'][number]): Promise<InactiveStep> => {
    const disk = target.disks.find((d) => d.target === sd.name);
    if (!disk?.sourcePath) throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, `disk '${sd.name}' of snapshot '${snap.name}' has no source`);
    const image = disk.sourcePath;
    // qemu-img snapshot -a and convert open the chain: nothing in it may be left to probe.
    await refuseUnsafeChain({ path: image, format: 'qcow2' });
    // Overlays this revert discards do not count: nothing will read through them.
    const children = (await findChildImages(image, dirs, notImages)).filter((c) => !discarded.has(c));
    // With children the image is only read (its tag copied out); else it is changed in place.
    const info = await inspectImage(image, 'qcow2', { access: children.length > 0 ? 'read' : 'write' }).catch((e: unknown) => {
      throw e instanceof VirError ? virError(VirErrorCode.OPERATION_FAILED, Q, `cannot use image '${image}': ${e.detail}`) : e;
    });
    if (!info.snapshots.some((s) => s.name === snap.name)) {
      throw virError(VirErrorCode.OPERATION_FAILED, Q, `image '${image}' of disk '${sd.name}' has no internal snapshot '${snap.name}'`);
    }
    if (children.length > 0) {
      // Applying the tag in place would change what those overlays read: copy the
      // snapshot's data into a new image instead and point the disk at it.
      const copy = await revertOverlayPath(image, snap.name, taken);
      const backing = info.fullBackingFilename !== undefined && info.backingFormat !== undefined
        ? { path: info.fullBackingFilename, format: info.backingFormat } : undefined;
      pointDiskAt(disk, copy, 'qcow2');
      return {
        resource: { kind: 'created-file', path: copy },
        claim: () => claimNewFile(copy),
        run: () => createImageFromInternalSnapshot(copy, image, snap.name, backing, { claimed: true }),
      };
    }
    return {
      resource: { kind: 'applied-tag', image, tag: snap.name, undoTag },
      async run() {
        await snapshotCreate(image, undoTag);
        await snapshotApply(image, snap.name);
      },
    };
  };
  return settledInOrder(await Promise.allSettled(snap.disks.filter((sd) => sd.snapshot === 'internal').map(planDisk)));
}

/** The values of `results` in order, or the first (in disk order) rejection. */
function settledInOrder<T>(results: PromiseSettledResult<T>[]): T[] {
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * A fresh overlay name next to the frozen image: `<stem>.<snapshot>-revert<N>`, N the first
 * unused. `taken` holds the names already chosen by this operation (two disks' images may
 * share a stem, as vm.qcow2 and vm.raw do); checked and filled synchronously after the
 * await, so disks planned concurrently never get the same name.
 */
async function revertOverlayPath(base: string, snapshot: string, taken: Set<string>): Promise<string> {
  const file = basename(base);
  const dot = file.lastIndexOf('.');
  const stem = dot > 0 ? file.slice(0, dot) : file;
  for (let n = 1; ; n++) {
    const candidate = join(dirname(base), `${stem}.${snapshot}-revert${n}`);
    try {
      await access(candidate);
    } catch {
      if (taken.has(candidate)) continue;
      taken.add(candidate);
      return candidate;
    }
  }
}

/** Checks and steps of an external revert; switches `target`'s disks to the new overlays. */
async function externalRevertSteps(snap: SnapshotDef, target: DomainDef): Promise<InactiveStep[]> {
  const taken = new Set<string>();
  const planDisk = async (sd: SnapshotDef['disks'][number]): Promise<InactiveStep> => {
    const disk = target.disks.find((d) => d.target === sd.name);
    if (!disk?.sourcePath) throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, `disk '${sd.name}' of snapshot '${snap.name}' has no source`);
    const base = disk.sourcePath;
    const format = disk.format ?? 'raw';
    await inspectImage(base, format, { access: 'read', allowBlock: disk.type === 'block' }).catch((e: unknown) => {
      throw e instanceof VirError ? virError(VirErrorCode.OPERATION_FAILED, Q, `cannot use image '${base}': ${e.detail}`) : e;
    });
    const overlay = await revertOverlayPath(base, snap.name, taken);
    pointDiskAt(disk, overlay, 'qcow2');
    return {
      resource: { kind: 'created-file', path: overlay },
      claim: () => claimNewFile(overlay),
      run: () => createOverlayFile(overlay, { path: base, format }, { claimed: true }),
    };
  };
  return settledInOrder(await Promise.allSettled(snap.disks.filter((sd) => sd.snapshot === 'external').map(planDisk)));
}
