/**
 * The journal side of reverting a domain whose QEMU runs, or must run afterwards
 * (operation kind `live-revert`): the resources such a revert prepares and how recovery
 * finishes one a crash interrupted. Two shapes share the kind (intent.mode):
 *
 * - `new-process`: a new QEMU is prepared beside the old one (paused, on fresh images)
 *   and the switch stops the old one. A marker file, written durably just before the old
 *   QEMU is signalled, tells recovery which side of the switch a crash left: marker
 *   present → forward (the old QEMU is finished off, the metadata written from the
 *   intent); absent → back (the new QEMU killed, its images removed; the old one never
 *   noticed anything).
 * - `in-place`: the running QEMU itself loads an internal snapshot, after saving the
 *   current state under a temporary tag; there is no switch, so recovery always rolls
 *   back (loads the temporary tag again) before the commit point.
 *
 * After the commit point the new run state is applied (`cont` for a domain that ends
 * running) by a post-commit resource, so a crash there is finished by recovery too.
 */
import { pointTpmAtGeneration, type TpmGenerationFlip } from '../tpm/tpm-generation.js';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { PausedReason, RunningReason, ShutoffReason } from '../../../api/flags.js';
import { parseDomainXML } from '../../../conf/domain-xml.js';
import type { Store } from '../../../store/index.js';
import {
  declareOperationKind, resourceString, type JournalEntry, type JsonValue, type RecoveryDirection, type Resource, type TxnContext,
} from '../../../txn/index.js';
import { deleteVmSnapshot, loadVmSnapshot } from '../qmp/internal-vm-snapshot.js';
import { isQemuRunningIn, qemuRuntimePaths, terminateQemuIn } from '../domain/qemu-process.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { isJsonObject } from '../qmp/qmp-json.js';
import { updateOfflineDomainState } from '../catalog/domain-state.js';
import { listSnapshotTags, snapshotApply, snapshotDelete } from '../images/qemu-img.js';
import { forgetMonitor, withMonitor } from '../qmp/domain-monitor.js';
import { formatRuntime, nextDomainId, type DomainRuntime } from '../domain/active-runtime.js';
import { domainRecordXml, loadTree, saveTree } from '../catalog/snapshot-catalog.js';

/** The operation kind of a revert with a QEMU process involved. */
export const LIVE_REVERT = 'live-revert';
/** Resource: a QEMU started for the reverted state; undo stops it (and removes its runtime dir when `removeDir`: the revert made it). */
export const REVERT_PROCESS = 'qemu-revert-process';
/** Resource: the running QEMU's vCPUs stopped for an in-place revert; undo resumes them if they ran. */
export const REVERT_VCPUS = 'qemu-revert-vcpus';
/** Resource: the current machine state saved under a temporary internal tag; undo loads it back. */
export const REVERT_UNDO_TAG = 'qemu-revert-undo-tag';
/** Resource (post-commit): the run state the revert ends in (`cont` when running). */
export const REVERT_RUN_STATE = 'qemu-revert-run-state';

declareOperationKind(LIVE_REVERT);

/** What the domain is after the revert. */
export type RevertEndState = 'shutoff' | 'running' | 'paused';

/** The journaled intent of a live revert: everything the commit (or recovery's roll forward) writes. */
export interface LiveRevertIntent {
  mode: 'new-process' | 'in-place';
  snapshot: string;
  end: RevertEndState;
  /** The QEMU running before the revert (null: the domain was shut off). */
  oldRuntimeDir: string | null;
  /** The QEMU running after it (null: the domain ends shut off). */
  newRuntimeDir: string | null;
  /** The runtime record to keep (in-place revert of a running QEMU), updated to the end state. */
  keptRuntime: DomainRuntime | null;
  /** The domain definition after the revert (new-process), or null to keep it (in-place). */
  targetXml: string | null;
  /** Written just before the old QEMU is stopped: the switch may have happened. */
  switchMarker: string | null;
  /** Image files the revert creates (listed as snapvirt's own) and files it discards after the commit. */
  created: string[];
  discarded: string[];
  /** A running domain's vTPM: the new generation of its TPM state the commit points its TPM path at. */
  tpmFlip?: TpmGenerationFlip;
}

/** The intent as journal JSON. */
export function revertIntentJson(intent: LiveRevertIntent): JsonValue {
  return JSON.parse(JSON.stringify(intent)) as JsonValue;
}

/** Whether a journaled intent is a live-revert intent (as revertIntentJson() wrote it; the mode and name are checked). */
function isLiveRevertIntent(i: JsonValue): i is JsonValue & LiveRevertIntent {
  return isJsonObject(i) && (i.mode === 'new-process' || i.mode === 'in-place') && typeof i.snapshot === 'string';
}

function intentOf(entry: JournalEntry): LiveRevertIntent {
  const i = entry.intent;
  if (!isLiveRevertIntent(i)) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `journal entry ${entry.id} has no live revert intent`);
  }
  return i;
}

/** The pid in a runtime dir's pidfile, read synchronously (inside a commit); 0 when absent. */
function pidIn(runtimeDir: string): number {
  try {
    const pid = Number.parseInt(readFileSync(qemuRuntimePaths(runtimeDir).pidfile, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

/**
 * The commit of a live revert, in the process that ran it or in recovery's roll forward:
 * the current snapshot, the definitions, the runtime record of the QEMU that runs now
 * (reason "from snapshot"; none when the domain ends shut off), and the driver's file
 * list. Runs inside the commit transaction.
 */
export function commitLiveRevert(store: Store, uuid: string, intent: LiveRevertIntent): void {
  // Every old QEMU (and its swtpm) is stopped by now: the TPM path moves to the reverted generation.
  if (intent.tpmFlip) pointTpmAtGeneration(intent.tpmFlip);
  const tree = loadTree(store, uuid);
  tree.setCurrent(intent.snapshot);
  saveTree(store, uuid, tree);
  const reason = intent.end === 'running' ? RunningReason.FROM_SNAPSHOT : PausedReason.FROM_SNAPSHOT;
  let runtime: DomainRuntime | null = null;
  if (intent.end !== 'shutoff') {
    if (intent.keptRuntime) {
      runtime = { ...intent.keptRuntime, state: intent.end, reason };
    } else if (intent.newRuntimeDir) {
      runtime = {
        runtimeDir: intent.newRuntimeDir, id: nextDomainId(store), pid: pidIn(intent.newRuntimeDir),
        state: intent.end, reason, startedAt: new Date().toISOString(),
      };
    }
  }
  const change: { persistentXml?: string; liveXml?: string | null; runtime?: string | null } = {};
  if (intent.targetXml !== null) {
    const target = domainRecordXml(parseDomainXML(intent.targetXml));
    if (store.domains.get(uuid)?.persistent === false) {
      // A transient domain's only definition is its live one (it never ends shut off here).
      change.liveXml = target;
    } else {
      change.persistentXml = target;
      change.liveXml = runtime ? target : null;
    }
  } else if (!runtime && store.domains.get(uuid)?.persistent !== false) {
    change.liveXml = null;
  }
  change.runtime = runtime ? formatRuntime(runtime) : null;
  store.domains.update(uuid, change);
  updateOfflineDomainState(store, uuid, {
    created: intent.created, forgotten: intent.discarded,
    ...(intent.end === 'shutoff' ? { shutoffReason: ShutoffReason.FROM_SNAPSHOT } : {}),
  });
}

/** Starts (`cont`) or keeps paused the vCPUs of the QEMU in `runtimeDir`, if it runs. */
export async function applyRunState(runtimeDir: string, end: RevertEndState): Promise<void> {
  if (end !== 'running' || !await isQemuRunningIn(runtimeDir)) return;
  await withMonitor(runtimeDir, async (qmp) => {
    if (!await isRunning(qmp)) await qmp.execute('cont');
  });
}

/** Whether the vCPUs run, from query-status. */
export async function isRunning(qmp: QmpClient): Promise<boolean> {
  const status = await qmp.execute('query-status');
  return isJsonObject(status) && status.running === true;
}

function stringList(r: Resource, field: string): string[] {
  const v = r[field];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * Takes the machine back to the temporary tag (through QEMU while it runs: memory and
 * disks; with qemu-img when it is gone: disks), then drops the tag. Idempotent.
 */
async function loadUndoTag(r: Resource): Promise<void> {
  const runtimeDir = resourceString(r, 'runtimeDir');
  const tag = resourceString(r, 'tag');
  const images = stringList(r, 'images');
  const nodes = stringList(r, 'nodes');
  if (await isQemuRunningIn(runtimeDir)) {
    const done = await withMonitor(runtimeDir, async (qmp) => {
      const tags = await vmTagsIn(qmp);
      if (!tags.has(tag)) return true;
      await loadVmSnapshot(qmp, tag, nodes[0]!, nodes);
      await deleteVmSnapshot(qmp, tag, nodes);
      return true;
    });
    if (done) return;
  }
  for (const image of images) {
    if (!existsSync(image) || !(await listSnapshotTags(image)).includes(tag)) continue;
    await snapshotApply(image, tag);
    await snapshotDelete(image, tag);
  }
}

/** Drops the temporary tag after the commit point (through QEMU while it runs). Idempotent. */
async function dropUndoTag(r: Resource): Promise<void> {
  const runtimeDir = resourceString(r, 'runtimeDir');
  const tag = resourceString(r, 'tag');
  const nodes = stringList(r, 'nodes');
  if (await isQemuRunningIn(runtimeDir)) {
    await withMonitor(runtimeDir, async (qmp) => {
      if ((await vmTagsIn(qmp)).has(tag)) await deleteVmSnapshot(qmp, tag, nodes);
    });
    return;
  }
  for (const image of stringList(r, 'images')) {
    if (existsSync(image) && (await listSnapshotTags(image)).includes(tag)) await snapshotDelete(image, tag);
  }
}

/** Every internal snapshot tag QEMU sees on any of its nodes. */
async function vmTagsIn(qmp: QmpClient): Promise<Set<string>> {
  const nodes = await qmp.execute('query-named-block-nodes', { flat: true });
  const out = new Set<string>();
  for (const n of Array.isArray(nodes) ? nodes : []) {
    const image = isJsonObject(n) && isJsonObject(n.image) ? n.image : undefined;
    for (const s of Array.isArray(image?.snapshots) ? image.snapshots : []) {
      if (isJsonObject(s) && typeof s.name === 'string') out.add(s.name);
    }
  }
  return out;
}

/**
 * Which way an interrupted live revert goes: forward only when the switch may have
 * begun (its marker exists); then the old QEMU, signalled or not, is finished off first.
 */
async function decideLiveRevert(entry: JournalEntry): Promise<RecoveryDirection> {
  const intent = intentOf(entry);
  if (intent.mode !== 'new-process' || intent.switchMarker === null || !existsSync(intent.switchMarker)) return 'back';
  if (intent.oldRuntimeDir !== null) {
    forgetMonitor(intent.oldRuntimeDir);
    await terminateQemuIn(intent.oldRuntimeDir, 5000);
  }
  return 'forward';
}

/** Registers the live-revert resource kinds and recovery handler on a driver's txn context. */
export function registerRevertHandlers(ctx: TxnContext): void {
  ctx.registry.registerResource(REVERT_PROCESS, {
    async undo(r) {
      const runtimeDir = resourceString(r, 'runtimeDir');
      forgetMonitor(runtimeDir);
      // Gracefully (SIGTERM): a QEMU that loaded an internal snapshot's undo tag back must
      // flush its images' metadata before it goes; one that never ran loses nothing.
      await terminateQemuIn(runtimeDir, 5000);
      // A directory the revert created goes too (its log included): the state dir is as before.
      if (r.removeDir === true) await rm(runtimeDir, { recursive: true, force: true });
    },
  });
  ctx.registry.registerResource(REVERT_VCPUS, {
    async undo(r) {
      const runtimeDir = resourceString(r, 'runtimeDir');
      if (r.resume !== true || !await isQemuRunningIn(runtimeDir)) return;
      await withMonitor(runtimeDir, async (qmp) => {
        if (!await isRunning(qmp)) await qmp.execute('cont');
      });
    },
  });
  ctx.registry.registerResource(REVERT_UNDO_TAG, { undo: loadUndoTag, finalize: dropUndoTag });
  ctx.registry.registerResource(REVERT_RUN_STATE, {
    async undo() {
      // Post-commit only.
    },
    async finalize(r) {
      const end = r.end;
      if (end === 'running' || end === 'paused' || end === 'shutoff') await applyRunState(resourceString(r, 'runtimeDir'), end);
    },
  });
  ctx.registry.registerOperation(LIVE_REVERT, {
    decide: (entry) => decideLiveRevert(entry),
    commitForward: (entry, store) => commitLiveRevert(store, entry.domain.uuid, intentOf(entry)),
  });
}
