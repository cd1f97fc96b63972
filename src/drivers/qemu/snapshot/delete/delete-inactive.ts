/**
 * virDomainSnapshotDelete for a shut-off QEMU domain. The commit point is the metadata:
 * once the snapshot is gone from the store, disk work follows as journaled, idempotent,
 * restartable cleanup (recovery on the next open finishes it after a crash):
 *
 * - internal: the tag is removed from every disk image;
 * - external: when safe (the frozen image has no other child, the overlay holds no
 *   internal tags and nothing has it open), the snapshot's overlay is merged into the image
 *   below with qemu-img commit, its children are re-pointed, and the overlay removed, so
 *   every remaining snapshot and the current state keep exactly their data. When not safe,
 *   the files are kept as they are (still exact, only not compacted);
 * - files snapvirt created that no remaining snapshot nor the current state reads through
 *   (an abandoned branch's overlays, with --children the subtree's) are removed.
 */
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { SnapshotDeleteFlags as D } from '../../../../api/flags.js';
import type { DomainDef } from '../../../../conf/domain-types.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import { isExternalSnapshot } from '../../../../snapshot/list-filter.js';
import { deleteFromTree, namesToDelete, deleteScopeOf } from '../../../../snapshot/tree-delete.js';
import { noSnapshotWithName, type SnapshotTree } from '../../../../snapshot/snapshot-tree.js';
import type { Store } from '../../../../store/index.js';
import { refusePendingConflicts, runDomainJob, SNAPSHOT_DELETE_JOB, type DomainLock, type TxnContext } from '../../../../txn/index.js';
import type { DomainRef } from '../../../driver.js';
import { findChildImages, notQcow2Paths, readQcow2Backing, refuseUnsafeChain } from '../../images/chain-inspect.js';
import { checkDeleteWork, requirePresent } from './delete-preflight.js';
import { externalLayers } from './external-layers.js';
import { mayMerge } from './merge-rule.js';
import type { DiskResource } from '../../journal/disk-resources.js';
import { discardableImages, mayDiscardImages, warnKept, type DiscardPlan } from '../../images/image-reachability.js';
import { OtherDomainsReach, rootsOf } from '../../images/image-users.js';
import { updateOfflineDomainState } from '../../catalog/domain-state.js';
import { diskResourceFiles, runInactiveOperation } from '../../journal/inactive-operation.js';
import { knownImageDirs } from '../revert/revert-inactive.js';
import { inspectImage } from '../../images/image-inspect.js';
import type { ImageAccess } from '../../images/image-lock-probe.js';
import type { ImageInfo } from '../../images/qemu-img.js';
import {
  loadDomain, loadStoredSnapshot, loadTree, removeStoredSnapshot, saveTree, type LoadedDomain,
} from '../../catalog/snapshot-catalog.js';
import { pathExists } from '../../images/path-exists.js';
import { checkQemuFlags } from '../../qemu-flags.js';
import { nvramCopiesOf } from '../../firmware/nvram-snapshot.js';
import { tpmCopiesOf } from '../../tpm/tpm-snapshot.js';
import { refuseGroupMembers } from '../../group/group-membership.js';

const Q = VirErrorDomain.QEMU;

/** Refuses up front an image another process holds in a way that conflicts with `access`. */
async function checkUsable(image: string, format: string, access: ImageAccess, allowBlock = false): Promise<ImageInfo> {
  return inspectImage(image, format, { access, allowBlock }).catch((e: unknown) => {
    throw e instanceof VirError ? virError(VirErrorCode.OPERATION_FAILED, Q, `cannot use image '${image}': ${e.detail}`) : e;
  });
}

/** Deletes snapshot `name` (per flags: with or only its children, or metadata only). */
export async function deleteInactiveSnapshot(ctx: TxnContext, lock: DomainLock, dom: DomainRef, name: string, flags: number): Promise<void> {
  checkQemuFlags(flags, 'snapshotDelete');
  await runDomainJob(ctx.lockDir, dom.uuid, SNAPSHOT_DELETE_JOB, () => deleteUnderJob(ctx, lock, dom, name, flags));
}

async function deleteUnderJob(ctx: TxnContext, lock: DomainLock, dom: DomainRef, name: string, flags: number): Promise<void> {
  const planned = await planInactiveDelete(ctx, loadDomain(ctx.store, dom), name, flags);
  const leaveGroups = refuseGroupMembers(ctx.store, dom, planned.removed, (flags & D.LEAVE_GROUP) !== 0);
  await runInactiveOperation(ctx, lock, {
    kind: 'delete',
    domainUuid: planned.domainUuid,
    domainName: planned.domainName,
    summary: { snapshot: name, flags, removed: planned.removed },
    steps: [],
    cleanup: planned.cleanup,
    commit: () => {
      planned.commit(ctx.store);
      leaveGroups(ctx.store);
    },
  });
  planned.warnKept();
}

/** A checked offline delete, ready to run: its post-commit disk work and its metadata commit. */
export interface PlannedInactiveDelete {
  domainUuid: string;
  domainName: string;
  /** The snapshots it removes. */
  removed: string[];
  /** Post-commit work: tag removals, merges, removals of files nothing needs. */
  cleanup: DiskResource[];
  /** The metadata: runs inside the commit transaction. */
  commit(store: Store): void;
  /** Warns of the files kept as they are (after the commit). */
  warnKept(): void;
}

/**
 * Every check of an offline delete of snapshot `name` of `loaded` (under its held lock) and
 * the plan that results; nothing is changed. Shared by one domain's delete and a group's.
 */
export async function planInactiveDelete(ctx: TxnContext, loaded: LoadedDomain, name: string, flags: number): Promise<PlannedInactiveDelete> {
  const store: Store = ctx.store;
  const { record, def: domain } = loaded;
  const scope = deleteScopeOf(flags);
  // One internal snapshot alone (or any, metadata only) needs its own row and its
  // children's, whatever the number of snapshots (removeStoredSnapshot); the whole tree is
  // loaded when the delete reaches further: descendants, an external snapshot's files, or
  // files snapvirt made that are judged against every snapshot.
  const alone = scope === 'snapshot' ? loadStoredSnapshot(store, record.uuid, name) : undefined;
  if (scope === 'snapshot' && !alone) throw noSnapshotWithName(name, Q);
  const tree = alone && (flags & D.METADATA_ONLY || (!isExternalSnapshot(alone) && !mayDiscardImages(store, record.uuid)))
    ? undefined : loadTree(store, record.uuid);
  tree?.get(name, Q);
  const victims = tree ? namesToDelete(tree, name, scope).map((n) => tree.get(n, Q).def) : [alone!];

  const cleanup: DiskResource[] = [];
  let discard: string[] = [];
  let plan: DiscardPlan | undefined;
  if (!(flags & D.METADATA_ONLY)) {
    const others = new OtherDomainsReach(store, record.uuid);
    // Files snapvirt made that only the deleted snapshots needed (the overlay of an
    // abandoned branch) are removed rather than merged: nothing remaining reads them.
    if (tree) {
      const afterTree = loadTree(store, record.uuid);
      deleteFromTree(afterTree, name, scope);
      plan = await discardableImages(store, record.uuid, { domain, tree }, { domain, tree: afterTree }, { probeLocks: true, others });
      discard = plan.discard;
    }
    const discarded = new Set(discard);
    cleanup.push(...discard.map((path): DiskResource => ({ kind: 'removed-file', path })));
    for (const snap of victims) {
      if (!isExternalSnapshot(snap)) cleanup.push(...(await internalCleanup(snap)));
      // --children / --children-only over several external snapshots (libvirt refuses):
      // the overlays nothing needs any more are discarded above; those the current state or
      // a remaining snapshot still reads through are kept as they are (exact, not compacted),
      // because merging one would change what the next victim's plan assumed.
      else if (tree && victims.length === 1) cleanup.push(...(await externalCleanup(others, record.uuid, snap, domain, tree, discarded, plan!.kept)));
    }
  }
  // The snapshots' NVRAM and TPM copies are snapvirt's own metadata: they go even with --metadata.
  const names = victims.map((v) => v.name);
  const copies = [...nvramCopiesOf(store.stateDir, record.uuid, names), ...tpmCopiesOf(store.stateDir, record.uuid, names)];
  cleanup.push(...copies.map((path): DiskResource => ({ kind: 'removed-file', path })));
  const merged = cleanup.filter((r) => r.kind === 'merge-overlay').map((r) => (r as { overlay: string }).overlay);
  // Work another delete left pending on these files must finish first (deleting the same
  // layers again); then everything the post-commit work needs is checked now: once
  // committed, a fault could only leave the merge pending.
  refusePendingConflicts(ctx, cleanup.flatMap(diskResourceFiles));
  await checkDeleteWork({
    snapshot: name,
    merges: cleanup.flatMap((r) => (r.kind === 'merge-overlay'
      ? [{ overlay: r.overlay, base: r.base, baseFormat: r.baseFormat, children: r.children, opensChainBelowBase: true, writesOverlay: true }]
      : [])),
    tagRemovals: cleanup.flatMap((r) => (r.kind === 'removed-tag' ? [{ image: r.image, tag: r.tag }] : [])),
    removals: discard,
  });

  return {
    domainUuid: record.uuid,
    domainName: record.name,
    removed: victims.map((v) => v.name),
    cleanup,
    commit() {
      if (tree) {
        deleteFromTree(tree, name, scope);
        saveTree(store, record.uuid, tree);
      } else {
        removeStoredSnapshot(store, record.uuid, name);
      }
      if (discard.length + merged.length > 0) updateOfflineDomainState(store, record.uuid, { forgotten: [...discard, ...merged] });
    },
    warnKept() {
      if (plan) warnKept(ctx.warn, `delete of snapshot '${name}' of domain '${record.name}'`, plan);
    },
  };
}

/** Tag removals for an internal snapshot; images that are gone have nothing to remove. */
async function internalCleanup(snap: SnapshotDef): Promise<DiskResource[]> {
  // Read-only checks, every disk at once; the first disk's error is the one reported.
  const results = await Promise.allSettled(snap.disks.filter((sd) => sd.snapshot === 'internal').map(async (sd) => {
    const image = snap.domain?.disks.find((d) => d.target === sd.name)?.sourcePath;
    if (!image || !(await pathExists(image))) return [];
    const info = await checkUsable(image, 'qcow2', 'write');
    return info.snapshots.some((s) => s.name === snap.name) ? [{ kind: 'removed-tag' as const, image, tag: snap.name }] : [];
  }));
  const out: DiskResource[] = [];
  for (const r of results) {
    if (r.status === 'rejected') throw r.reason;
    out.push(...r.value);
  }
  return out;
}

/** The merge plan for an external snapshot: one merge per disk where merging is safe. */
async function externalCleanup(
  others: OtherDomainsReach, domainUuid: string, snap: SnapshotDef, domain: DomainDef, tree: SnapshotTree, discarded: Set<string>,
  kept: DiscardPlan['kept'],
): Promise<DiskResource[]> {
  const out: DiskResource[] = [];
  const dirs = knownImageDirs(domain, tree);
  const notImages = notQcow2Paths(rootsOf(domain, tree));
  for (const layer of externalLayers(snap)) {
    const { overlay, base, frozen } = layer;
    const baseFormat = frozen.format ?? 'raw';
    if (discarded.has(overlay) || kept.some((k) => k.path === overlay) || !(await pathExists(overlay))) continue;
    const merge = await mayMerge(others, layer, {
      overlayBacking: (await readQcow2Backing(overlay)) ?? undefined,
      baseChildren: (await findChildImages(base, dirs, notImages)).filter((c) => !discarded.has(c)),
      // qemu-img commit re-points every child of the overlay onto the base.
      unrebasableChildren: [],
      overlayTags: async () => (await checkUsable(overlay, 'qcow2', 'write')).snapshots.map((s) => s.name),
    }, kept);
    if (!merge) continue;
    await requirePresent(base, overlay);
    await checkUsable(base, baseFormat, 'write', frozen.type === 'block');
    const children = (await findChildImages(overlay, dirs, notImages)).filter((c) => !discarded.has(c));
    for (const child of children) await checkUsable(child, 'qcow2', 'write');
    // qemu-img commit opens the whole chain: nothing in it may be left for qemu to probe.
    await refuseUnsafeChain({ path: overlay, format: 'qcow2' });
    out.push({ kind: 'merge-overlay', domainUuid, overlay, base, baseFormat, children });
  }
  return out;
}
