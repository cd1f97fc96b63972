/**
 * virDomainSnapshotDelete for a running QEMU domain. The merges of an external snapshot's
 * overlays into the images below come before the commit point, in one step that copies
 * every disk at once, each merge undoable (journal/undoable-merge-resources.ts): QEMU keeps
 * the base's overwritten bytes in an undo image, so a failure, an abort (domjobabort) or a
 * crash of snapvirt while QEMU runs puts every base back, with the guest's writes of the
 * meantime kept. The commit point
 * is the metadata; after it each merge's short end (QEMU's graph change, the overlay
 * removed, the metadata moved to the base) is post-commit work, as are the removal of an
 * internal tag (blockdev-snapshot-delete-internal-sync) and of the snapshot's files. A
 * delete whose QEMU died while it merged is rolled forward by the next open, offline.
 *
 * A group's delete (group/group-delete.ts) uses the same plan with the merges after its
 * commit point, as single deletes did before: one member's merge is not undoable there.
 *
 * A merge is planned only where merge-rule.ts allows it: the rule the offline delete
 * applies too, here on facts read from QEMU's running chain. Elsewhere the files stay as
 * they are (still exact, only not compacted), with a warning when another domain is why.
 */
import { obsoleteMemoryFiles } from './memory-files.js';
import { updateOfflineDomainState } from '../../catalog/domain-state.js';
import { nvramCopiesOf } from '../../firmware/nvram-snapshot.js';
import { tpmCopiesOf } from '../../tpm/tpm-snapshot.js';
import { resolve } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { SnapshotDeleteFlags as D } from '../../../../api/flags.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import { isExternalSnapshot } from '../../../../snapshot/list-filter.js';
import { deleteFromTree, deleteScopeOf, namesToDelete } from '../../../../snapshot/tree-delete.js';
import type { LiveDeleteIntent } from './live-delete-recovery.js';
import {
  lockDomain, lockDomainJob, LIVE_SNAPSHOT_DELETE_JOB, refusePendingConflicts, resourceString, runOperation,
  type Resource, type Step, type TxnContext,
} from '../../../../txn/index.js';
import { randomBytes } from 'node:crypto';
import { isJsonObject } from '../../qmp/qmp-json.js';
import { LIVE_UNDOABLE_MERGE, undoableMergeResource, undoableMergesStep, type UndoableMerge } from '../../journal/undoable-merge-resources.js';
import type { Store } from '../../../../store/index.js';
import type { DomainRef } from '../../../driver.js';
import { findChildImages, notQcow2Paths, refuseUnsafeChain } from '../../images/chain-inspect.js';
import { OtherDomainsReach, rootsOf } from '../../images/image-users.js';
import { checkDeleteWork, type DeleteWork } from './delete-preflight.js';
import { externalLayers } from './external-layers.js';
import { mayMerge } from './merge-rule.js';
import { warnKept, type DiscardPlan } from '../../images/image-reachability.js';
import { readActiveChain, type ActiveDiskChain } from '../../qmp/active-chain.js';
import type { QmpClient } from '../../qmp/qmp-client.js';
import { deleteInactiveSnapshot } from './delete-inactive.js';
import { knownImageDirs } from '../revert/revert-inactive.js';
import { liveDef, requireRunning } from '../../domain/active-domains.js';
import { withMonitor } from '../../qmp/domain-monitor.js';
import { LIVE_DELETE, LIVE_MERGE, LIVE_TAG_DELETE, nodeWithTag } from '../../journal/active-resources.js';
import { loadDomain, loadTree, saveTree } from '../../catalog/snapshot-catalog.js';
import { checkQemuFlags } from '../../qemu-flags.js';
import { refuseGroupMembers } from '../../group/group-membership.js';

const Q = VirErrorDomain.QEMU;
/** Deletes snapshot `name` of running domain `dom` (per flags: with or only its children, or metadata only). */
export async function deleteActiveSnapshot(ctx: TxnContext, dom: DomainRef, name: string, flags: number): Promise<void> {
  checkQemuFlags(flags, 'snapshotDelete');
  if (flags & D.METADATA_ONLY) {
    // Metadata only: nothing touches the disks, the shut-off path is exact.
    await lockDomain(ctx, dom.uuid, 'snapshot-delete', (lock) => deleteInactiveSnapshot(ctx, lock, dom, name, flags));
    return;
  }
  await lockDomainJob(ctx, dom.uuid, 'snapshot-delete', LIVE_SNAPSHOT_DELETE_JOB, async (lock) => {
    const rt = await requireRunning(ctx, dom);
    await withMonitor(rt.runtimeDir, async (qmp) => {
      let leaveGroups: (s: Store) => void = () => undefined;
      const planned = await planLiveDelete(ctx, dom, rt.runtimeDir, qmp, name, flags,
        (removed) => { leaveGroups = refuseGroupMembers(ctx.store, dom, removed, (flags & D.LEAVE_GROUP) !== 0); }, { undoable: true });
      await planned.check();
      const intent: LiveDeleteIntent = { snapshot: name, flags, removed: planned.removed, memoryFiles: planned.memoryFiles };
      await runOperation(ctx, lock, {
        kind: LIVE_DELETE,
        domain: { uuid: planned.domainUuid, name: planned.domainName },
        intent: { ...intent },
        steps: planned.steps,
        commit: (s) => {
          planned.commit(s);
          leaveGroups(s);
        },
        finalize: planned.resources,
      });
      planned.warnKept();
    });
  });
}

/** A checked delete of a running domain's snapshot, ready to run (alone, or as one member of a group's delete). */
export interface PlannedLiveDelete {
  domainUuid: string;
  domainName: string;
  /** The snapshots the commit removes. */
  removed: string[];
  /** The undoable merges: one step for every disk (none unless planned so). */
  steps: Step[];
  /** Post-commit work: each merge and tag removal. */
  resources: Resource[];
  /** The memory files snapvirt made for the removed snapshots, forgotten by the commit. */
  memoryFiles: string[];
  /** The checks of that work (pending merges on its layers, space, locks); run just before the operation. */
  check(): Promise<void>;
  /** The metadata: runs inside the commit transaction. */
  commit(store: Store): void;
  warnKept(): void;
}

/**
 * Every check of a delete of snapshot `name` of running `dom` (its lock held, `qmp` its
 * monitor) and the plan that results; nothing is changed. `refuse` sees the snapshots it
 * would remove before anything else is checked (a single delete refuses a group's member).
 */
export async function planLiveDelete(
  ctx: TxnContext, dom: DomainRef, runtimeDir: string, qmp: QmpClient, name: string, flags: number,
  refuse: (removed: string[]) => void = () => undefined, opts: { undoable?: boolean } = {},
): Promise<PlannedLiveDelete> {
  const { store } = ctx;
  const { record, def: persistent } = loadDomain(store, dom);
  const tree = loadTree(store, record.uuid);
  tree.get(name, Q);
  const scope = deleteScopeOf(flags);
  const victims = namesToDelete(tree, name, scope).map((n) => tree.get(n, Q).def);
  refuse(victims.map((v) => v.name));
  const external = victims.filter(isExternalSnapshot);
  if (external.length > 0 && scope !== 'snapshot') {
    throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, external.length < victims.length
      ? 'deletion of external and internal children disk snapshots not supported'
      : 'deletion of external children disk snapshots not supported');
  }
  const dirs = knownImageDirs(persistent, tree);
  for (const disk of liveDef(ctx, dom).disks) if (disk.sourcePath) dirs.add(resolve(disk.sourcePath, '..'));
  const notImages = notQcow2Paths([...rootsOf(persistent, tree), ...rootsOf(liveDef(ctx, dom), undefined)]);
  const chains = await readActiveChain(qmp);
  const status = await qmp.execute('query-status');
  const running = isJsonObject(status) && status.running === true;
  const resources: Resource[] = [];
  const merges: UndoableMerge[] = [];
  const kept: DiscardPlan['kept'] = [];
  const view: ActiveView = { qmp, others: new OtherDomainsReach(store, record.uuid), domainUuid: record.uuid, runtimeDir, chains, dirs, notImages };
  for (const snap of victims) {
    if (!isExternalSnapshot(snap)) resources.push(...await tagPlan(qmp, runtimeDir, snap));
    else if (opts.undoable) merges.push(...(await mergePlan(view, snap, kept)).map((r) => undoableOf(r, running)));
    else resources.push(...await mergePlan(view, snap, kept));
  }
  const work = liveDeleteWork(name, [...resources, ...merges.map(undoableMergeResource)]);
  // The snapshots' NVRAM and TPM copies go with their metadata.
  const names = victims.map((v) => v.name);
  // And the memory files snapvirt made for them (not with --metadata, which leaves every file).
  const memoryFiles = flags & D.METADATA_ONLY ? [] : await obsoleteMemoryFiles(store, record.uuid, tree, victims, view.others);
  resources.push(...[...nvramCopiesOf(store.stateDir, record.uuid, names), ...tpmCopiesOf(store.stateDir, record.uuid, names), ...memoryFiles]
    .map((path) => ({ kind: 'file-obsolete', path })));
  return {
    domainUuid: record.uuid,
    domainName: record.name,
    removed: victims.map((v) => v.name),
    steps: undoableMergesStep(ctx, merges),
    resources,
    memoryFiles,
    async check() {
      // Another delete's merge still pending on these layers must finish first.
      refusePendingConflicts(ctx, [...work.merges.flatMap((m) => [m.overlay, m.base, ...m.children]), ...work.tagRemovals.map((t) => t.image)]);
      await checkDeleteWork(work);
    },
    commit(s) {
      deleteFromTree(tree, name, scope);
      saveTree(s, record.uuid, tree);
      if (memoryFiles.length > 0) updateOfflineDomainState(s, record.uuid, { forgotten: memoryFiles });
    },
    warnKept: () => warnKept(ctx.warn, `delete of snapshot '${name}' of domain '${record.name}'`, { discard: [], kept }),
  };
}

/**
 * What the live merges and tag removals will touch, for the checks before the commit
 * point: QEMU reopens the base (and, for an intermediate commit, the image above) read-write
 * by its path; the chain below the base is already open, and the overlay is only read.
 */
function liveDeleteWork(snapshot: string, resources: Resource[]): DeleteWork {
  const str = (r: Resource, field: string): string => resourceString(r, field);
  return {
    snapshot,
    merges: resources.filter((r) => r.kind === LIVE_MERGE || r.kind === LIVE_UNDOABLE_MERGE).map((r) => ({
      overlay: str(r, 'overlay'), base: str(r, 'base'), baseFormat: str(r, 'baseFormat'),
      children: r.kind === LIVE_MERGE
        ? (Array.isArray(r.children) ? r.children.filter((c): c is string => typeof c === 'string') : [])
        : (typeof r.above === 'string' ? [r.above] : []),
      opensChainBelowBase: false, writesOverlay: false, keepsUndo: r.kind === LIVE_UNDOABLE_MERGE,
    })),
    tagRemovals: resources.filter((r) => r.kind === LIVE_TAG_DELETE).map((r) => ({ image: str(r, 'image'), tag: str(r, 'tag') })),
    removals: [],
  };
}

/** What a running delete decides its merges on: the running QEMU and the images around it. */
interface ActiveView {
  qmp: QmpClient;
  others: OtherDomainsReach;
  domainUuid: string;
  runtimeDir: string;
  chains: ActiveDiskChain[];
  /** Where children of an image may live, and which files there are not qcow2 images to read. */
  dirs: Set<string>;
  notImages: Set<string>;
}

/** One merge resource per disk of an external snapshot where merging is exact (merge-rule.ts). */
async function mergePlan(view: ActiveView, snap: SnapshotDef, kept: DiscardPlan['kept']): Promise<Resource[]> {
  const { qmp, others, domainUuid, runtimeDir, chains, dirs, notImages } = view;
  const out: Resource[] = [];
  for (const layer of externalLayers(snap)) {
    const { target, overlay, base, frozen } = layer;
    const chain = chains.find((c) => c.target === target);
    const files = chain?.chain.map((l) => l.filename) ?? [];
    const index = files.indexOf(overlay);
    // Only a layer of the running chain is merged live; another branch keeps its files.
    if (index === -1) continue;
    const above = index > 0 ? files[index - 1] : undefined;
    const merge = await mayMerge(others, layer, {
      overlayBacking: files[index + 1],
      baseChildren: await findChildImages(base, dirs, notImages),
      // block-commit re-points only the layer above it in the running chain.
      unrebasableChildren: (await findChildImages(overlay, dirs, notImages)).filter((c) => c !== above),
      overlayTags: async () => (await nodeWithTag(qmp, overlay))?.tags ?? [],
    }, kept);
    if (!merge) continue;
    // The headers may have changed under QEMU; block-commit rewrites the backing links it
    // merges, and whatever reopens this chain later would probe a layer of unrecorded format.
    await refuseUnsafeChain({ path: overlay, format: 'qcow2' });
    out.push({
      kind: LIVE_MERGE, runtimeDir, domainUuid, target, overlay, base,
      baseFormat: chain?.chain[index + 1]?.format ?? frozen.format ?? 'raw',
      children: above === undefined ? [] : [above],
    });
  }
  return out;
}

/**
 * The undoable form of a planned merge: its temporary top (when the overlay is the disk's
 * top) and undo image are new files beside the overlay, named so nothing else can hold them.
 */
function undoableOf(r: Resource, wasRunning: boolean): UndoableMerge {
  const overlay = resourceString(r, 'overlay');
  const children = Array.isArray(r.children) ? r.children.filter((c): c is string => typeof c === 'string') : [];
  const tag = randomBytes(4).toString('hex');
  return {
    runtimeDir: resourceString(r, 'runtimeDir'), domainUuid: resourceString(r, 'domainUuid'), target: resourceString(r, 'target'),
    overlay, base: resourceString(r, 'base'), baseFormat: resourceString(r, 'baseFormat'),
    above: children[0] ?? null,
    temp: children.length === 0 ? `${overlay}.merge-top-${tag}` : null,
    undo: `${overlay}.merge-undo-${tag}`,
    wasRunning,
  };
}

/** Tag removals of an internal snapshot; an image QEMU has open must be a disk's top to be changed live. */
async function tagPlan(qmp: QmpClient, runtimeDir: string, snap: SnapshotDef): Promise<Resource[]> {
  const out: Resource[] = [];
  const chains = await readActiveChain(qmp);
  for (const sd of snap.disks) {
    if (sd.snapshot !== 'internal') continue;
    const image = snap.domain?.disks.find((d) => d.target === sd.name)?.sourcePath;
    if (!image) continue;
    const node = await nodeWithTag(qmp, resolve(image));
    if (node && !node.tags.includes(snap.name)) continue;
    if (node && !chains.some((c) => c.nodeName === node.name)) {
      throw virError(VirErrorCode.OPERATION_UNSUPPORTED, Q,
        `cannot delete internal snapshot '${snap.name}' of disk '${sd.name}' while the domain runs: its image is a read-only backing layer`);
    }
    out.push({ kind: LIVE_TAG_DELETE, runtimeDir, image: resolve(image), tag: snap.name });
  }
  return out;
}
