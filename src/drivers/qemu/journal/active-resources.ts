/**
 * The journal resources and recovery handlers of operations on running domains. A live
 * operation's rollback must never pull an image from under a running guest, so every
 * undo here first asks QEMU (when it is alive) whether the node or file is in use, and
 * refuses if it is: the entry then stays open and recovery decides, from query-block,
 * whether the switch happened (roll forward) or not (roll back).
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { rm } from 'node:fs/promises';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { ShutoffReason } from '../../../api/flags.js';
import { parseDomainXML } from '../../../conf/domain-xml.js';
import { parseSnapshotXML } from '../../../conf/snapshot-xml.js';
import { applyCreation } from '../../../snapshot/tree-insert.js';
import type { Store } from '../../../store/index.js';
import {
  currentJob, declareFailpoints, declareOperationKind, failpoint, fsyncDir, fsyncFile, resourceString,
  type JournalEntry, type JsonValue, type RecoveryDirection, type Resource, type TxnContext,
} from '../../../txn/index.js';
import { BlockJobStatus, BlockJobType, emitBlockJobEvent } from '../../block-job-events.js';
import type { DomainRef } from '../../driver.js';
import { parseQueryBlock } from '../qmp/active-chain.js';
import { blockCommitLayer } from '../qmp/block-commit.js';
import { cleanupResource } from './disk-resources.js';
import { updateOfflineDomainState } from '../catalog/domain-state.js';
import { thawGuest } from '../qmp/guest-agent.js';
import { isQemuRunningIn, qemuRuntimePaths } from '../domain/qemu-process.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { expectArray, isJsonObject, optionalString } from '../qmp/qmp-json.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import { stopDomainLocked } from '../domain/active-domains.js';
import { formatRuntime, parseRuntime } from '../domain/active-runtime.js';
import { domainRecordXml, loadTree, replaceImagePath, saveTree } from '../catalog/snapshot-catalog.js';

/** The operation kind of a live external disk snapshot. */
export const LIVE_CREATE = 'live-create';
/** Resource: an overlay file created for a live snapshot. */
export const LIVE_OVERLAY = 'qemu-live-overlay';
/** Resource: a block node blockdev-added to a running QEMU. */
export const LIVE_NODE = 'qemu-live-node';
/** The operation kind of deleting a snapshot of a running domain. */
export const LIVE_DELETE = 'live-delete';
/** Resource (post-commit): one disk's layer merged into the layer below with block-commit. */
export const LIVE_MERGE = 'qemu-live-merge';
/** Resource (post-commit): an internal snapshot tag removed from a running disk's image. */
export const LIVE_TAG_DELETE = 'qemu-live-tag-delete';
/** The operation kind of a full-system internal snapshot (snapshot-save). */
export const LIVE_SAVE = 'live-save';
/** Resource: an internal snapshot tag written by snapshot-save into the images of a running domain. */
export const LIVE_VM_TAG = 'qemu-live-vm-tag';
/**
 * Resource: a guest paused by a memory save (QEMU ends the migration in postmigrate).
 * Both the rollback and the post-commit work resume it and put its run state back, so a
 * crash on either side of the commit never leaves it paused.
 */
export const LIVE_RESUME = 'qemu-live-resume';
/** Resource (post-commit): --halt, the domain shut off once its snapshot is taken. */
export const LIVE_HALT = 'qemu-live-halt';
/** Failpoint between the per-disk merges of one delete (`@N`: after the N-th disk). */
export const FP_MERGE_AFTER = 'live-delete.merge.after';
/** Failpoint once a merge's block-commit job runs in QEMU (a kill here leaves the job behind). */
export const FP_MERGE_STARTED = 'live-merge.job.started';
/** Failpoint whose `error` action makes QEMU's own transaction fail (an abort action after every disk). */
export const FP_TRANSACTION_ABORT = 'live-create.transaction.abort';

declareOperationKind(LIVE_CREATE);
declareOperationKind(LIVE_DELETE);
declareOperationKind(LIVE_SAVE);
declareFailpoints([FP_TRANSACTION_ABORT, FP_MERGE_AFTER, FP_MERGE_STARTED]);

/** What a live-create journal entry's intent holds: everything commitForward writes. */
export interface LiveCreateIntent {
  snapshot: string;
  /** The snapshot's stored XML; null with NO_METADATA. */
  snapshotXml: string | null;
  runtimeDir: string;
  /** New definitions (disks on their overlays). */
  persistentXml: string | null;
  liveXml: string;
  disks: { target: string; overlayPath: string; overlayNode: string }[];
  /**
   * --quiesce: the switch runs only once the guest agent froze the filesystems, so a
   * committed (or rolled-forward) quiesced snapshot is recorded as frozen.
   */
  quiesced?: boolean;
  /** How many filesystems the freeze froze: known in the process that froze them, not to recovery. */
  frozenFilesystems?: number;
  /** --reuse-external: the overlays are the user's files, not snapvirt's. */
  reused?: boolean;
  /** With a memory state: the guest was running and is paused during the save; recovery resumes it. */
  resume?: boolean;
  /**
   * With a memory state: the run state and reason recorded before the save, which records
   * "paused (creating snapshot)" meanwhile; recovery puts them back.
   */
  runState?: { state: 'running' | 'paused'; reason: number };
}

/** The filenames of every block node QEMU has open. */
async function openFilenames(qmp: QmpClient): Promise<Set<string>> {
  const nodes = expectArray(await qmp.execute('query-named-block-nodes', { flat: true }), 'query-named-block-nodes');
  const out = new Set<string>();
  for (const n of nodes) {
    const file = isJsonObject(n) ? optionalString(n, 'file') : undefined;
    if (file !== undefined) out.add(file);
  }
  return out;
}

async function nodeNames(qmp: QmpClient): Promise<Set<string>> {
  const nodes = expectArray(await qmp.execute('query-named-block-nodes', { flat: true }), 'query-named-block-nodes');
  return new Set(nodes.flatMap((n) => {
    const name = isJsonObject(n) ? optionalString(n, 'node-name') : undefined;
    return name === undefined ? [] : [name];
  }));
}

function inUse(what: string): Error {
  return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `${what} is in use by the running domain; not removed`);
}

/** Registers the live resource kinds and operation handlers on a driver's txn context. */
export function registerActiveHandlers(ctx: TxnContext): void {
  ctx.registry.registerResource(LIVE_OVERLAY, {
    async undo(r) {
      const path = resourceString(r, 'path');
      const runtimeDir = resourceString(r, 'runtimeDir');
      if (await isQemuRunningIn(runtimeDir)) {
        const openNow = await withMonitor(runtimeDir, (qmp) => openFilenames(qmp));
        if (openNow.has(path)) throw inUse(`overlay '${path}'`);
      }
      await rm(path, { force: true });
      fsyncDir(dirname(path));
    },
    files: (r) => [resourceString(r, 'path')],
    // Recovery's roll-forward only: in-process, the overlays step makes them durable itself.
    async persist(r) {
      const path = resourceString(r, 'path');
      fsyncFile(path);
      fsyncDir(dirname(path));
    },
  });
  ctx.registry.registerResource(LIVE_NODE, {
    async undo(r) {
      const node = resourceString(r, 'node');
      const runtimeDir = resourceString(r, 'runtimeDir');
      // A dead QEMU took its nodes with it.
      if (!await isQemuRunningIn(runtimeDir)) return;
      await withMonitor(runtimeDir, async (qmp) => {
        const chains = parseQueryBlock(await qmp.execute('query-block'));
        if (chains.some((c) => c.nodeName === node)) throw inUse(`block node '${node}'`);
        if (!(await nodeNames(qmp)).has(node)) return;
        // Deleting the format node also drops the file child defined inline with it.
        await qmp.execute('blockdev-del', { 'node-name': node });
      });
    },
  });
  ctx.registry.registerResource(LIVE_MERGE, {
    async undo() {
      // Runs only after the commit point: before it, nothing was merged.
    },
    finalize: (r) => finishMerge(ctx, r),
    // A merge whose overlay is gone has finished (removing it is its last act).
    files: (r) => (existsSync(resourceString(r, 'overlay')) ? [resourceString(r, 'overlay'), resourceString(r, 'base'), ...stringsOf(r.children)] : []),
  });
  ctx.registry.registerResource(LIVE_TAG_DELETE, {
    async undo() {
      // Post-commit only.
    },
    finalize: (r) => finishTagDelete(r),
    files: (r) => [resourceString(r, 'image')],
  });
  ctx.registry.registerResource(LIVE_RESUME, {
    undo: (r) => resumeGuest(ctx.store, r),
    finalize: (r) => resumeGuest(ctx.store, r),
  });
  ctx.registry.registerResource(LIVE_HALT, {
    async undo() {
      // Post-commit only: before the commit the domain keeps running.
    },
    finalize: (r) => haltAfterSnapshot(ctx, r),
  });
  ctx.registry.registerResource(LIVE_VM_TAG, {
    undo: (r) => removeVmTag(r),
    files: (r) => stringsOf(r.images),
  });
  ctx.registry.registerOperation(LIVE_CREATE, {
    decide: (entry) => decideLiveCreate(ctx.store, entry),
    commitForward: (entry, store) => commitLiveCreate(store, entry.domain.uuid, intentOf(entry)),
  });
}

/** The strings of a JSON array field (none when absent). */
function stringsOf(v: JsonValue | undefined): string[] {
  return Array.isArray(v) ? v.filter((c): c is string => typeof c === 'string') : [];
}

/**
 * Whether a journaled intent is a live-create intent. The journal holds what intentJson()
 * wrote; the fields recovery cannot do without are checked, so a foreign entry fails clearly.
 */
function isLiveCreateIntent(i: JsonValue): i is JsonValue & LiveCreateIntent {
  return isJsonObject(i) && typeof i.snapshot === 'string' && typeof i.runtimeDir === 'string' && Array.isArray(i.disks);
}

/** The intent of a live-create entry, checked. */
export function intentOf(entry: JournalEntry): LiveCreateIntent {
  const i = entry.intent;
  if (!isLiveCreateIntent(i)) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `journal entry ${entry.id} has no live snapshot intent`);
  }
  return i;
}

/** The intent as journal JSON. */
export function intentJson(intent: LiveCreateIntent): JsonValue {
  return JSON.parse(JSON.stringify(intent)) as JsonValue;
}

/**
 * Forward when QEMU shows every disk on its new overlay (or, QEMU gone, when the
 * transaction was recorded as done); back when no disk is; partial cannot happen (one
 * transaction) and is refused rather than guessed.
 */
async function decideLiveCreate(store: Store, entry: JournalEntry): Promise<RecoveryDirection> {
  const intent = intentOf(entry);
  if (!await isQemuRunningIn(intent.runtimeDir)) {
    // QEMU died: with the switch recorded as done the overlays are the disks' data;
    // otherwise the guest is gone and the images below are as they were.
    return entry.phase === 'switched' ? 'forward' : 'back';
  }
  // A quiesced create killed inside its switch may have left the guest frozen: thaw it
  // first, whichever way the rest goes (best effort: an unresponsive agent must not keep
  // the domain's journal entry open forever).
  if (intent.quiesced && entry.phase === 'switching') {
    await thawGuest(qemuRuntimePaths(intent.runtimeDir).guestAgentSocket).catch(() => undefined);
  }
  const chains = await withMonitor(intent.runtimeDir, async (qmp) => {
    // A snapshot with memory pauses the guest; an interrupted one must not leave it paused
    // (whichever way the rest goes, the vCPUs' state is not part of the rollback).
    if (intent.resume) {
      const status = await qmp.execute('query-status');
      if (isJsonObject(status) && status.running !== true) await qmp.execute('cont');
    }
    return parseQueryBlock(await qmp.execute('query-block'));
  });
  restoreRunState(store, entry.domain.uuid, intent);
  // A memory-only snapshot has no disk to ask: it happened once every step was done.
  if (intent.disks.length === 0) return entry.phase === 'prepared' || entry.phase === 'switched' ? 'forward' : 'back';
  const on = intent.disks.map((d) => chains.find((c) => c.target === d.target)?.nodeName === d.overlayNode);
  if (on.every(Boolean)) return 'forward';
  if (!on.some(Boolean)) return 'back';
  throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU,
    `disks of interrupted snapshot '${intent.snapshot}' are partly on their overlays`);
}

/** Puts back the run state and reason an interrupted save recorded over, while the same QEMU runs. */
function restoreRunState(store: Store, uuid: string, intent: Pick<LiveCreateIntent, 'runtimeDir' | 'runState'>): void {
  const before = intent.runState;
  if (!before) return;
  store.transaction(() => {
    const rt = parseRuntime(store.domains.get(uuid)?.runtime ?? null);
    if (rt?.runtimeDir !== intent.runtimeDir) return;
    store.domains.update(uuid, { runtime: formatRuntime({ ...rt, state: before.state, reason: before.reason }) });
  });
}

/** Resumes a guest a memory save paused (if it ran before) and restores its recorded run state; idempotent. */
async function resumeGuest(store: Store, r: Resource): Promise<void> {
  const runtimeDir = resourceString(r, 'runtimeDir');
  if (!await isQemuRunningIn(runtimeDir)) return;
  if (r.resume === true) {
    await withMonitor(runtimeDir, async (qmp) => {
      const status = await qmp.execute('query-status');
      if (isJsonObject(status) && status.running !== true) await qmp.execute('cont');
    });
  }
  const state = r.state === 'running' || r.state === 'paused' ? r.state : undefined;
  if (state !== undefined && typeof r.reason === 'number') {
    restoreRunState(store, resourceString(r, 'domainUuid'), { runtimeDir, runState: { state, reason: r.reason } });
  }
}

/**
 * The post-commit half of --halt, journaled so that a crash after the commit still ends
 * with the domain shut off (reason: from snapshot), as an uninterrupted run does.
 */
export function haltResource(dom: DomainRef, runtimeDir: string): Resource {
  return { kind: LIVE_HALT, domainUuid: dom.uuid, domainName: dom.name, runtimeDir };
}

/** Stops the QEMU the snapshot was taken of; nothing when that run has already ended. */
async function haltAfterSnapshot(ctx: TxnContext, r: Resource): Promise<void> {
  const uuid = resourceString(r, 'domainUuid');
  const rt = parseRuntime(ctx.store.domains.get(uuid)?.runtime ?? null);
  if (!rt || rt.runtimeDir !== resourceString(r, 'runtimeDir')) return;
  await stopDomainLocked(ctx, { uuid, name: resourceString(r, 'domainName'), id: -1 }, ShutoffReason.FROM_SNAPSHOT);
}

/** The commit of a live snapshot: metadata, persistent and live definitions. Runs inside the commit transaction. */
export function commitLiveCreate(store: Store, uuid: string, intent: LiveCreateIntent): void {
  if (intent.snapshotXml !== null) {
    const tree = loadTree(store, uuid);
    const { def } = parseSnapshotXML(intent.snapshotXml, { redefine: true });
    if (!tree.has(def.name)) {
      applyCreation(tree, def);
      saveTree(store, uuid, tree);
    }
    if (intent.quiesced) store.snapshots.setQuiesced(uuid, def.name, intent.frozenFilesystems ?? null);
  }
  const rec = store.domains.get(uuid);
  if (!rec) return;
  // Listed as snapvirt's own images: the offline paths may discard them when no longer needed.
  if (!intent.reused) updateOfflineDomainState(store, uuid, { created: intent.disks.map((d) => d.overlayPath) });
  const change: { persistentXml?: string; liveXml?: string } = {};
  // A transient domain has no persistent definition to move (undefined since the plan, or never defined).
  if (intent.persistentXml !== null && rec.persistent) change.persistentXml = domainRecordXml(parseDomainXML(intent.persistentXml));
  // The live definition only matters while this QEMU is the one recorded.
  if (parseRuntime(rec.runtime)?.runtimeDir === intent.runtimeDir) change.liveXml = intent.liveXml;
  store.domains.update(uuid, change);
}

/** The resource of one overlay file a live snapshot creates. */
export function overlayResource(runtimeDir: string, path: string): Resource {
  return { kind: LIVE_OVERLAY, runtimeDir, path };
}

/** The resource of one blockdev-added node. */
export function nodeResource(runtimeDir: string, node: string): Resource {
  return { kind: LIVE_NODE, runtimeDir, node };
}

/**
 * Finishes one disk's merge (idempotent, restartable): block-commit in the running QEMU
 * when it is alive, else the offline merge (qemu-img commit); then the metadata moves
 * from the overlay to the base and the overlay file goes.
 */
async function finishMerge(ctx: TxnContext, r: Resource): Promise<void> {
  const runtimeDir = resourceString(r, 'runtimeDir');
  const domainUuid = resourceString(r, 'domainUuid');
  const target = resourceString(r, 'target');
  const overlay = resourceString(r, 'overlay');
  const base = resourceString(r, 'base');
  const baseFormat = resourceString(r, 'baseFormat');
  // A block commit keeps the overlay, and the snapshots that name it (merge-overlay's keepOverlay).
  const keepOverlay = r.keepOverlay === true;
  const replace = (uuid: string, from: string, to: string, format: string): void => {
    if (uuid === domainUuid) replaceImagePath(ctx.store, domainUuid, from, to, format, { live: true, snapshots: !keepOverlay });
  };
  if (await isQemuRunningIn(runtimeDir)) {
    const onStarted = (): void => failpoint(FP_MERGE_STARTED);
    const done = await withMonitor(runtimeDir, (qmp) => blockCommitLayer(qmp, { target, overlay, base, onProgress: progressPrinter(target), onStarted }));
    replace(domainUuid, overlay, base, baseFormat);
    if (done.merged) {
      // libvirt's event names the disk's image when the job started: the overlay when it was the top.
      const above = Array.isArray(r.children) && typeof r.children[0] === 'string' ? r.children[0] : overlay;
      emitBlockJobEvent({
        domainUuid, target, path: done.mode === 'active' ? overlay : above,
        type: done.mode === 'active' ? BlockJobType.ACTIVE_COMMIT : BlockJobType.COMMIT, status: BlockJobStatus.COMPLETED,
      });
    }
    if (!keepOverlay) {
      updateOfflineDomainState(ctx.store, domainUuid, { forgotten: [overlay] });
      await rm(overlay, { force: true });
      fsyncDir(dirname(overlay));
    }
  } else {
    const children = Array.isArray(r.children) ? r.children.filter((c): c is string => typeof c === 'string') : [];
    await cleanupResource({ kind: 'merge-overlay', domainUuid, overlay, base, baseFormat, children, ...(keepOverlay ? { keepOverlay } : {}) }, { replaceImagePath: replace });
    if (!keepOverlay) updateOfflineDomainState(ctx.store, domainUuid, { forgotten: [overlay] });
  }
  failpoint(FP_MERGE_AFTER);
}

/** Long merges show progress in the domain's job (domjobinfo, from any process) and on a terminal, as virsh does for block jobs. */
function progressPrinter(target: string): ((offset: number, len: number) => void) | undefined {
  const job = currentJob();
  const tty = process.stderr.isTTY;
  if (!tty && !job) return undefined;
  return (offset, len) => {
    job?.progress({ dataProcessed: offset, dataTotal: len });
    if (!tty) return;
    const pct = len > 0 ? Math.floor((offset * 100) / len) : 100;
    process.stderr.write(`\rMerging disk ${target}: [${String(pct).padStart(3)} %]`);
  };
}

/** Removes an internal tag: through QEMU when it has the image open, else with qemu-img. */
async function finishTagDelete(r: Resource): Promise<void> {
  const runtimeDir = resourceString(r, 'runtimeDir');
  const image = resourceString(r, 'image');
  const tag = resourceString(r, 'tag');
  if (await isQemuRunningIn(runtimeDir)) {
    const done = await withMonitor(runtimeDir, async (qmp) => {
      const node = await nodeWithTag(qmp, image);
      if (!node) return false;
      if (node.tags.includes(tag)) await qmp.execute('blockdev-snapshot-delete-internal-sync', { device: node.name, name: tag });
      return true;
    });
    if (done) return;
  }
  await cleanupResource({ kind: 'removed-tag', image, tag }, { replaceImagePath: () => undefined });
}

/** The format node that has `image` open, with the internal snapshot tags QEMU sees in it. */
export async function nodeWithTag(qmp: QmpClient, image: string): Promise<{ name: string; tags: string[] } | undefined> {
  const nodes = expectArray(await qmp.execute('query-named-block-nodes', { flat: true }), 'query-named-block-nodes');
  for (const n of nodes) {
    if (!isJsonObject(n) || optionalString(n, 'file') !== image || n.drv === 'file') continue;
    const name = optionalString(n, 'node-name');
    if (name === undefined) continue;
    const img = isJsonObject(n.image) ? n.image : {};
    const tags = Array.isArray(img.snapshots)
      ? img.snapshots.flatMap((t) => (isJsonObject(t) && typeof t.name === 'string' ? [t.name] : []))
      : [];
    return { name, tags };
  }
  return undefined;
}

/** Undo of a snapshot-save: the tag goes from every image that has it (through QEMU while it runs). */
async function removeVmTag(r: Resource): Promise<void> {
  const runtimeDir = resourceString(r, 'runtimeDir');
  const tag = resourceString(r, 'tag');
  const images = Array.isArray(r.images) ? r.images.filter((c): c is string => typeof c === 'string') : [];
  for (const image of images) {
    await finishTagDelete({ kind: LIVE_TAG_DELETE, runtimeDir, image, tag });
  }
}
