/**
 * External full-system snapshots of a running domain (`--memspec file=…`, disks external):
 * the machine state is saved to the memory file through migration, then every disk moves
 * to its overlay in one transaction while the vCPUs are stopped, so memory and disks are
 * one instant. Without --live the vCPUs are stopped before the save (as libvirt does);
 * with --live the save runs while the guest runs and QEMU stops it for the last pass.
 * The guest runs again afterwards unless it was paused or --halt stops the domain.
 *
 * Revert to such a snapshot: new overlays on the images the snapshot froze (the branch
 * being left keeps its files), then a fresh QEMU started with -incoming loads the memory
 * file, and runs or stays paused per --running/--paused or the snapshot's state.
 */
import { access, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import { PausedReason, RunningReason, ShutoffReason, SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../api/flags.js';
import { cloneDomainDef } from '../../conf/domain-xml.js';
import type { SnapshotDef } from '../../conf/snapshot-types.js';
import { alignSnapshotDisks, checkSnapshotLocations } from '../../snapshot/disk-align.js';
import type { SnapshotTree } from '../../snapshot/snapshot-tree.js';
import { runOperation, type DomainLock, type Step, type TxnContext } from '../../txn/index.js';
import type { DomainRef } from '../driver.js';
import { planLiveDiskSnapshot, type LiveDiskSnapshotPlan } from './live/live-disk-snapshot.js';
import { loadMemoryFromFile, saveMemoryToFile } from './live/memory-migration.js';
import { createOverlayImage } from './live/overlay-image.js';
import type { QmpClient } from './live/qmp-client.js';
import { qmpErrorToVirError } from './live/qmp-errors.js';
import { isJsonObject } from './live/qmp-json.js';
import { updateOfflineDomainState } from './offline-domain-state.js';
import { liveDef, liveRuntime, startDomainLocked, stopDomainLocked, updateRuntime } from './running-domains.js';
import { withMonitor } from './running-monitor.js';
import type { DomainRuntime } from './running-runtime.js';
import { liveCreateIntent, nodeSteps, overlaySteps, switchToOverlays } from './running-snapshot-create.js';
import { LIVE_CREATE, commitLiveCreate, intentJson, type LiveCreateIntent } from './running-txn.js';
import { loadDomain, loadTree, saveTree, storeDomainDefinition } from './snapshot-catalog.js';

const Q = VirErrorDomain.QEMU;

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function isRunning(qmp: QmpClient): Promise<boolean> {
  const status = await qmp.execute('query-status');
  return isJsonObject(status) && status.running === true;
}

/** True when `snap` saved the machine state into an external file. */
export function hasExternalMemory(snap: SnapshotDef): boolean {
  return (snap.state === 'running' || snap.state === 'paused') && snap.memory?.snapshot === 'external';
}

/** Creates an external full-system snapshot of running domain `dom`; the caller holds the lock. */
export async function createExternalWithMemory(
  ctx: TxnContext, lock: DomainLock, dom: DomainRef, rt: DomainRuntime, def: SnapshotDef, flags: number, tree: SnapshotTree,
): Promise<void> {
  const { store } = ctx;
  const { def: persistent } = loadDomain(store, dom);
  const live = liveDef(ctx, dom);
  const memFile = def.memory?.file;
  if (def.memory?.snapshot !== 'external' || !memFile) {
    throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, 'external disk snapshots with a memory state need an external memory file (--memspec file=…)');
  }
  if (!isAbsolute(memFile) || normalize(memFile) !== memFile) {
    throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, `memory snapshot file path '${memFile}' must be absolute`);
  }
  if (await exists(memFile)) throw virError(VirErrorCode.OPERATION_INVALID, Q, `memory snapshot file '${memFile}' already exists`);
  if (!(await stat(dirname(memFile)).catch(() => undefined))?.isDirectory()) {
    throw virError(VirErrorCode.OPERATION_INVALID, Q, `directory of memory snapshot file '${memFile}' does not exist`);
  }
  alignSnapshotDisks(def, live, {
    defaultMode: 'external', uniformInternal: false, requireExistingSources: true,
    isRegularFile: () => true,
  });
  checkSnapshotLocations(def);
  for (const disk of def.disks) {
    if (disk.snapshot === 'external') disk.format = disk.format ?? 'qcow2';
    if (disk.snapshot === 'external' && disk.format !== 'qcow2') {
      throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, `external snapshot format for disk ${disk.name} is unsupported: ${disk.format}`);
    }
  }
  const keepMetadata = (flags & C.NO_METADATA) === 0;
  if (keepMetadata && tree.has(def.name)) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN, `domain moment ${def.name} already exists`);
  }
  def.domain = cloneDomainDef(live);
  const external = def.disks.filter((d) => d.snapshot === 'external');

  await withMonitor(rt.runtimeDir, async (qmp) => {
    const wasRunning = await isRunning(qmp);
    def.state = wasRunning ? 'running' : 'paused';
    const plan: LiveDiskSnapshotPlan = external.length > 0
      ? await planLiveDiskSnapshot(qmp, external.map((d) => ({ target: d.name, overlayPath: d.sourcePath ?? '' })))
      : { disks: [] };
    const intent: LiveCreateIntent = {
      ...liveCreateIntent(def, keepMetadata, rt.runtimeDir, persistent, live, plan),
      resume: wasRunning,
    };
    const memoryStep: Step = {
      name: 'memory',
      resources: [{ kind: 'file-created', path: memFile }],
      async do() {
        // What domstate shows meanwhile, from another process: "paused (creating snapshot)".
        updateRuntime(ctx, dom.uuid, { state: 'paused', reason: PausedReason.SNAPSHOT });
        if (wasRunning && !(flags & C.LIVE)) await qmp.execute('stop');
        try {
          await saveMemoryToFile(qmp, rt.runtimeDir, memFile);
        } catch (err) {
          throw qmpErrorToVirError(err);
        }
      },
    };
    try {
      await runOperation(ctx, lock, {
        kind: LIVE_CREATE,
        domain: { uuid: dom.uuid, name: dom.name },
        intent: intentJson(intent),
        steps: [...overlaySteps(plan, rt.runtimeDir), ...nodeSteps(qmp, plan, rt.runtimeDir), memoryStep],
        switch: plan.disks.length > 0 ? () => switchToOverlays(qmp, plan) : undefined,
        commit: (s) => {
          commitLiveCreate(s, dom.uuid, intent);
          updateOfflineDomainState(s, dom.uuid, { created: [memFile] });
        },
      });
    } finally {
      // Success or failure, a guest that ran runs again (unless --halt stops it below).
      if (wasRunning && !(flags & C.HALT) && !(await isRunning(qmp).catch(() => true))) {
        await qmp.execute('cont').catch(() => undefined);
      }
      updateRuntime(ctx, dom.uuid, { state: rt.state, reason: rt.reason });
    }
  });
  if (flags & C.HALT) await stopDomainLocked(ctx, dom, ShutoffReason.FROM_SNAPSHOT);
}

/** A fresh overlay name next to the frozen image: `<stem>.<snapshot>-revert<N>`, N the first unused. */
async function revertOverlayPath(base: string, snapshot: string): Promise<string> {
  const file = basename(base);
  const dot = file.lastIndexOf('.');
  const stem = dot > 0 ? file.slice(0, dot) : file;
  for (let n = 1; ; n++) {
    const candidate = join(dirname(base), `${stem}.${snapshot}-revert${n}`);
    if (!(await exists(candidate))) return candidate;
  }
}

/**
 * Reverts to an external full-system snapshot; the caller holds the lock and has stopped
 * a running QEMU. Returns the end state.
 */
export async function revertExternalWithMemory(
  ctx: TxnContext, lock: DomainLock, dom: DomainRef, snap: SnapshotDef, flags: number,
): Promise<'running' | 'paused'> {
  const { store } = ctx;
  const { record } = loadDomain(store, dom);
  const memFile = snap.memory?.file;
  if (!memFile || !(await exists(memFile))) {
    throw virError(VirErrorCode.OPERATION_INVALID, Q, `memory state file of snapshot '${snap.name}' is missing: ${memFile ?? '(none)'}`);
  }
  if (!snap.domain) throw virError(VirErrorCode.SNAPSHOT_REVERT_RISKY, Q, `snapshot '${snap.name}' lacks domain '${record.name}' rollback info`);
  const end: 'running' | 'paused' = flags & R.RUNNING ? 'running' : flags & R.PAUSED ? 'paused' : snap.state === 'paused' ? 'paused' : 'running';
  if (await liveRuntime(ctx, record.uuid)) await stopDomainLocked(ctx, dom, ShutoffReason.FROM_SNAPSHOT);

  const target = cloneDomainDef(snap.domain);
  const steps: Step[] = [];
  const created: string[] = [];
  for (const sd of snap.disks) {
    if (sd.snapshot !== 'external') continue;
    const disk = target.disks.find((d) => d.target === sd.name);
    if (!disk?.sourcePath) continue;
    const base = disk.sourcePath;
    const baseFormat = disk.format ?? 'raw';
    const overlay = await revertOverlayPath(base, snap.name);
    created.push(overlay);
    disk.type = 'file';
    disk.sourcePath = overlay;
    disk.format = 'qcow2';
    steps.push({
      name: `overlay.${sd.name}`,
      resources: [{ kind: 'file-created', path: overlay }],
      do: () => createOverlayImage({ path: overlay, format: 'qcow2', backingPath: base, backingFormat: baseFormat }, () => undefined),
    });
  }
  await runOperation(ctx, lock, {
    kind: 'revert',
    domain: { uuid: record.uuid, name: record.name },
    intent: { snapshot: snap.name, flags, memory: memFile },
    steps,
    commit: (s) => {
      storeDomainDefinition(s, record.uuid, target);
      const tree = loadTree(s, record.uuid);
      tree.setCurrent(snap.name);
      saveTree(s, record.uuid, tree);
      updateOfflineDomainState(s, record.uuid, { created });
    },
  });
  const rt = await startDomainLocked(ctx, dom, { paused: true, incoming: true, reason: PausedReason.FROM_SNAPSHOT });
  try {
    await withMonitor(rt.runtimeDir, async (qmp) => {
      await loadMemoryFromFile(qmp, rt.runtimeDir, memFile);
      if (end === 'running') await qmp.execute('cont');
    });
  } catch (err) {
    // A machine whose memory did not load must not run: stop it, keep the reverted disks.
    await stopDomainLocked(ctx, dom, ShutoffReason.FAILED, 0).catch(() => undefined);
    throw qmpErrorToVirError(err);
  }
  store.transaction(() => {
    const text = store.domains.get(record.uuid)?.runtime;
    if (!text) return;
    const parsed = JSON.parse(text) as DomainRuntime;
    store.domains.update(record.uuid, { runtime: JSON.stringify({
      ...parsed, state: end, reason: end === 'running' ? RunningReason.FROM_SNAPSHOT : PausedReason.FROM_SNAPSHOT,
    }) });
  });
  return end;
}
