/**
 * External full-system snapshots of a running domain (`--memspec file=…`, disks external):
 * the machine state is saved to the memory file through migration, then every disk moves
 * to its overlay in one transaction while the vCPUs are stopped, so memory and disks are
 * one instant. Without --live the vCPUs are stopped before the save (as libvirt does);
 * with --live the save runs while the guest runs and QEMU stops it for the last pass.
 * The guest runs again afterwards unless it was paused or --halt stops the domain.
 *
 * Revert to such a snapshot is revert-active-new-process.ts: new overlays on the images the
 * snapshot froze, a new QEMU started with -incoming loads the memory file, then the switch.
 */
import { nvramCaptureSteps } from '../../firmware/nvram-snapshot.js';
import { tpmCaptureSteps } from '../../tpm/tpm-snapshot.js';
import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, normalize } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { PausedReason, SnapshotCreateFlags as C } from '../../../../api/flags.js';
import { cloneDomainDef } from '../../../../conf/domain-xml.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import { alignSnapshotDisks, checkSnapshotLocations } from '../../../../snapshot/disk-align.js';
import { isRegularFile } from '../../../regular-file.js';
import type { SnapshotTree } from '../../../../snapshot/snapshot-tree.js';
import { runOperation, type DomainLock, type Step, type TxnContext } from '../../../../txn/index.js';
import type { DomainRef } from '../../../driver.js';
import { planLiveDiskSnapshot, type LiveDiskSnapshotPlan } from './create-active-external-plan.js';
import { saveMemoryToFile } from '../../qmp/memory-migration.js';
import type { QmpClient } from '../../qmp/qmp-client.js';
import { qmpErrorToVirError } from '../../qmp/qmp-errors.js';
import { isJsonObject } from '../../qmp/qmp-json.js';
import { updateOfflineDomainState } from '../../catalog/domain-state.js';
import { liveDefOf, updateRuntime } from '../../domain/active-domains.js';
import { withMonitor } from '../../qmp/domain-monitor.js';
import type { DomainRuntime } from '../../domain/active-runtime.js';
import { liveCreateIntent, switchToOverlays } from './create-active.js';
import { haltAfterCommit, nodesStep, overlaysStep } from './create-active-external-steps.js';
import { LIVE_CREATE, LIVE_RESUME, commitLiveCreate, intentJson, type LiveCreateIntent } from '../../journal/active-resources.js';
import { loadDomain } from '../../catalog/snapshot-catalog.js';
import { pathExists } from '../../images/path-exists.js';

const Q = VirErrorDomain.QEMU;

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
  const loaded = loadDomain(store, dom);
  const { def: persistent } = loaded;
  const live = liveDefOf(loaded);
  const memFile = def.memory?.file;
  if (def.memory?.snapshot !== 'external' || !memFile) {
    throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, 'external disk snapshots with a memory state need an external memory file (--memspec file=…)');
  }
  if (!isAbsolute(memFile) || normalize(memFile) !== memFile) {
    throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, `memory snapshot file path '${memFile}' must be absolute`);
  }
  if (await pathExists(memFile)) throw virError(VirErrorCode.OPERATION_INVALID, Q, `memory snapshot file '${memFile}' already exists`);
  if (!(await stat(dirname(memFile)).catch(() => undefined))?.isDirectory()) {
    throw virError(VirErrorCode.OPERATION_INVALID, Q, `directory of memory snapshot file '${memFile}' does not exist`);
  }
  alignSnapshotDisks(def, live, { defaultMode: 'external', uniformInternal: false, isRegularFile });
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
      runState: { state: rt.state, reason: rt.reason },
    };
    const memoryStep: Step = {
      name: 'memory',
      // Undone in reverse: the guest resumes, then the file goes; after the commit, it resumes too.
      resources: [
        { kind: 'file-created', path: memFile },
        { kind: LIVE_RESUME, runtimeDir: rt.runtimeDir, domainUuid: dom.uuid, resume: wasRunning, state: rt.state, reason: rt.reason },
      ],
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
        steps: [
          ...overlaysStep(ctx, plan, rt.runtimeDir), ...nodesStep(qmp, plan, rt.runtimeDir), memoryStep,
          // After the memory: the vCPUs are stopped, so the copy matches the saved flash.
          ...(keepMetadata ? nvramCaptureSteps(ctx.store.stateDir, dom.uuid, live, def.name) : []),
          ...(keepMetadata ? tpmCaptureSteps(ctx.store.stateDir, dom.uuid, live, def.name) : []),
        ],
        finalize: haltAfterCommit(dom, rt.runtimeDir, flags),
        switch: plan.disks.length > 0 ? () => switchToOverlays(qmp, plan) : undefined,
        commit: (s) => {
          commitLiveCreate(s, dom.uuid, intent);
          updateOfflineDomainState(s, dom.uuid, { created: [memFile] });
        },
        // The images the new overlays sit on: pending post-commit work on them must finish first.
        touches: plan.disks.map((d) => d.backingPath),
      });
    } finally {
      // Success or failure, a guest that ran runs again (unless --halt stopped it after the commit).
      if (wasRunning && !(flags & C.HALT) && !(await isRunning(qmp).catch(() => true))) {
        await qmp.execute('cont').catch(() => undefined);
      }
      updateRuntime(ctx, dom.uuid, { state: rt.state, reason: rt.reason });
    }
  });
}
