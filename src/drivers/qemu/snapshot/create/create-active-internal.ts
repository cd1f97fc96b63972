/**
 * Full-system internal snapshots of a running domain (libvirt's default when a running
 * domain is snapshotted without --disk-only): the machine state and every disk go into
 * one internal qcow2 snapshot with the snapshot's name (QMP snapshot-save job; vmstate in
 * the first disk). On the txn engine: the save is one journaled step whose undo deletes
 * the tag again (through QEMU while it runs, with qemu-img otherwise), so a failure or a
 * crash before the metadata commit leaves no tag behind. Revert loads it back
 * (snapshot-load) after saving the current state as the way back, starting QEMU first
 * when the domain is shut off.
 */
import { nvramCaptureSteps, nvramRestoreSteps } from '../../firmware/nvram-snapshot.js';
import { tpmCaptureSteps, tpmRestoreSteps } from '../../tpm/tpm-snapshot.js';
import { randomBytes } from 'node:crypto';
import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { cloneDomainDef } from '../../../../conf/domain-xml.js';
import type { DomainDef } from '../../../../conf/domain-types.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import { alignSnapshotDisks, checkSnapshotLocations } from '../../../../snapshot/disk-align.js';
import { isRegularFile } from '../../../regular-file.js';
import type { SnapshotTree } from '../../../../snapshot/snapshot-tree.js';
import { applyCreation } from '../../../../snapshot/tree-insert.js';
import { runOperation, type DomainLock, type Step, type TxnContext } from '../../../../txn/index.js';
import type { DomainRef } from '../../../driver.js';
import { diskNodeNames } from '../../qmp/disk-node-names.js';
import { haltAfterCommit } from './create-active-external-steps.js';
import { diskTopNodes, loadVmSnapshot, saveVmSnapshot } from '../../qmp/internal-vm-snapshot.js';
import { QemuProcess, isQemuRunningIn, terminateQemuIn } from '../../domain/qemu-process.js';
import type { QmpClient } from '../../qmp/qmp-client.js';
import { qmpErrorToVirError } from '../../qmp/qmp-errors.js';
import { liveDef } from '../../domain/active-domains.js';
import { withMonitor } from '../../qmp/domain-monitor.js';
import { runtimeDirFor, type DomainRuntime } from '../../domain/active-runtime.js';
import { tpmStateDirFor } from '../../tpm/swtpm-process.js';
import {
  LIVE_REVERT, REVERT_PROCESS, REVERT_RUN_STATE, REVERT_UNDO_TAG, REVERT_VCPUS, commitLiveRevert, isRunning, revertIntentJson,
  type LiveRevertIntent,
} from '../../journal/active-revert-resources.js';
import { LIVE_SAVE, LIVE_VM_TAG, nodeWithTag } from '../../journal/active-resources.js';
import { domainRecordXml, loadDomain, saveTree } from '../../catalog/snapshot-catalog.js';

const Q = VirErrorDomain.QEMU;

/**
 * Creates a full-system internal snapshot of running domain `dom` (already parsed as
 * `def`; its memory element asks for internal). The caller holds the lock and has checked flags.
 */
export async function createInternalWithMemory(
  ctx: TxnContext, lock: DomainLock, dom: DomainRef, rt: DomainRuntime, def: SnapshotDef, keepMetadata: boolean, tree: SnapshotTree,
  flags: number,
): Promise<void> {
  const live = liveDef(ctx, dom);
  def.memory = { snapshot: 'internal' };
  alignSnapshotDisks(def, live, { defaultMode: 'internal', uniformInternal: true, isRegularFile });
  checkSnapshotLocations(def);
  const disks = def.disks.filter((d) => d.snapshot === 'internal').map((d) => d.name);
  for (const target of disks) {
    const disk = live.disks.find((d) => d.target === target);
    const format = disk?.format ?? 'raw';
    if (format !== 'qcow2') {
      throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, `internal snapshot for disk ${target} unsupported for storage type ${format}`);
    }
  }
  if (keepMetadata && tree.has(def.name)) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN, `domain moment ${def.name} already exists`);
  }
  def.domain = cloneDomainDef(live);
  await withMonitor(rt.runtimeDir, async (qmp) => {
    const tops = await diskTopNodes(qmp, disks);
    for (const t of tops) {
      const node = await nodeWithTag(qmp, t.file);
      if (node?.tags.includes(def.name)) {
        throw virError(VirErrorCode.OPERATION_INVALID, Q, `disk '${t.target}' image '${t.file}' already has an internal snapshot named '${def.name}'`);
      }
    }
    def.state = (await isRunning(qmp)) ? 'running' : 'paused';
    await runOperation(ctx, lock, {
      kind: LIVE_SAVE,
      domain: { uuid: dom.uuid, name: dom.name },
      intent: { snapshot: def.name },
      // The machine state saved below holds the running TPM's whole state (QEMU asks swtpm for
      // it); the copy of its permanent state is what a start without that machine state uses.
      steps: [...(keepMetadata ? [...nvramCaptureSteps(ctx.store.stateDir, dom.uuid, live, def.name), ...tpmCaptureSteps(ctx.store.stateDir, dom.uuid, live, def.name)] : []), {
        name: 'snapshot-save',
        resources: [{ kind: LIVE_VM_TAG, runtimeDir: rt.runtimeDir, tag: def.name, images: tops.map((t) => t.file) }],
        async do() {
          try {
            await saveVmSnapshot(qmp, def.name, tops[0]!.node, tops.map((t) => t.node));
          } catch (err) {
            throw qmpErrorToVirError(err);
          }
        },
      }],
      commit: (s) => {
        if (!keepMetadata) return;
        applyCreation(tree, def);
        saveTree(s, dom.uuid, tree);
      },
      finalize: haltAfterCommit(dom, rt.runtimeDir, flags),
    });
  });
}

/** True when `snap` holds the machine state internally (revert with snapshot-load). */
export function hasInternalMemory(snap: SnapshotDef): boolean {
  return (snap.state === 'running' || snap.state === 'paused') && snap.memory?.snapshot === 'internal';
}

/** What {@link revertInternalWithMemory} needs. */
export interface InPlaceRevert {
  dom: DomainRef;
  snap: SnapshotDef;
  /** The running QEMU (null: the domain is shut off and one is started paused first). */
  old: DomainRuntime | null;
  end: 'running' | 'paused';
}

/**
 * Reverts to a full-system internal snapshot with snapshot-load, all or nothing. QEMU
 * cannot undo a snapshot-load, and no second QEMU can open the images the running one
 * holds, so the way back is taken first, in the same QEMU: the vCPUs are stopped, the
 * current machine state (memory and disks) is saved under a temporary tag, then the
 * snapshot is loaded. Any failure before the commit point, and recovery after a crash,
 * loads the temporary tag again and resumes the vCPUs if they ran: the guest cannot tell
 * (it was stopped throughout). After the commit the temporary tag is dropped and the
 * vCPUs start when the domain ends running. A shut-off domain gets a QEMU started paused
 * first, killed again on failure (its disks are restored from the temporary tag by
 * qemu-img then). The caller holds the lock.
 */
export async function revertInternalWithMemory(ctx: TxnContext, lock: DomainLock, r: InPlaceRevert): Promise<void> {
  const { store } = ctx;
  const { dom, snap, old, end } = r;
  const targets = snap.disks.filter((d) => d.snapshot === 'internal').map((d) => d.name);
  const current: DomainDef = old ? liveDef(ctx, dom) : loadDomain(store, dom).def;
  for (const target of targets) {
    const then = snap.domain?.disks.find((d) => d.target === target)?.sourcePath;
    const now = current.disks.find((d) => d.target === target)?.sourcePath;
    if (then === undefined || then !== now) {
      throw virError(VirErrorCode.OPERATION_UNSUPPORTED, Q,
        `revert to snapshot '${snap.name}' needs disk '${target}' on '${then ?? '?'}', where its state was saved; it is on '${now ?? '?'}'`);
    }
  }
  const images = targets.map((t) => current.disks.find((d) => d.target === t)!.sourcePath!);
  const runtimeDir = old?.runtimeDir ?? runtimeDirFor(store.stateDir, dom.uuid);
  const undoTag = `snapvirt-undo-${randomBytes(6).toString('hex')}`;
  const nodes = targets.map((t) => diskNodeNames(t).format);
  const intent: LiveRevertIntent = {
    mode: 'in-place', snapshot: snap.name, end,
    oldRuntimeDir: old?.runtimeDir ?? null, newRuntimeDir: old ? null : runtimeDir, keptRuntime: old,
    targetXml: old ? null : domainRecordXml(current), switchMarker: null, created: [], discarded: [],
  };
  // The node names of the disks' top images: those QEMU was started with, or later overlays.
  let tops: string[] = nodes;
  // A new QEMU's swtpm starts on the snapshot's permanent TPM state; loading the machine state then gives it the rest.
  const steps: Step[] = old ? [] : tpmRestoreSteps(store.stateDir, dom.uuid, current, snap.name);
  if (!old) {
    const removeDir = !(await access(runtimeDir).then(() => true, () => false));
    steps.push({
      name: 'start',
      resources: [{ kind: REVERT_PROCESS, runtimeDir, removeDir }],
      async do() {
        if (await isQemuRunningIn(runtimeDir)) await terminateQemuIn(runtimeDir, 0);
        await mkdir(dirname(runtimeDir), { recursive: true, mode: 0o700 });
        const proc = await QemuProcess.start({ def: current, runtimeDir, paused: true, tpmStateDir: tpmStateDirFor(store.stateDir, dom.uuid) });
        await proc.qmp.close().catch(() => undefined);
      },
    });
  }
  await withMonitorWhenUp(runtimeDir, old !== null, async (monitor) => {
    let wasRunning = false;
    steps.push({
      name: 'stop-vcpus',
      async do(sctx) {
        await monitor(async (qmp) => {
          tops = (await diskTopNodes(qmp, targets)).map((t) => t.node);
          wasRunning = await isRunning(qmp);
          sctx.addResource({ kind: REVERT_VCPUS, runtimeDir, resume: wasRunning });
          if (wasRunning) await qmp.execute('stop');
        });
      },
    }, {
      name: 'save-undo-state',
      async do(sctx) {
        sctx.addResource({ kind: REVERT_UNDO_TAG, runtimeDir, tag: undoTag, images, nodes: tops });
        await monitor(async (qmp) => {
          try {
            await saveVmSnapshot(qmp, undoTag, tops[0]!, tops);
          } catch (err) {
            throw qmpErrorToVirError(err);
          }
        });
      },
    }, {
      name: 'load',
      async do() {
        await monitor(async (qmp) => {
          try {
            await loadVmSnapshot(qmp, snap.name, tops[0]!, tops);
          } catch (err) {
            throw qmpErrorToVirError(err);
          }
        });
      },
    });
    steps.push(...nvramRestoreSteps(store.stateDir, dom.uuid, current, snap.name));
    await runOperation(ctx, lock, {
      kind: LIVE_REVERT,
      domain: { uuid: dom.uuid, name: dom.name },
      intent: revertIntentJson(intent),
      steps,
      commit: (s) => commitLiveRevert(s, dom.uuid, intent),
      // The running images get the undo tag and the snapshot's state: pending work on them must finish first.
      touches: images,
      finalize: [{ kind: REVERT_RUN_STATE, runtimeDir, end }],
    });
  });
}

/**
 * Runs `fn` with a way to reach the monitor of `runtimeDir`: one connection held for the
 * whole operation when the QEMU already runs (so undo handlers reuse it), else connected
 * on first use (the QEMU is only started by the operation's first step).
 */
async function withMonitorWhenUp<T>(
  runtimeDir: string, running: boolean,
  fn: (monitor: <U>(use: (qmp: QmpClient) => Promise<U>) => Promise<U>) => Promise<T>,
): Promise<T> {
  if (running) return withMonitor(runtimeDir, (qmp) => fn((use) => use(qmp)));
  return fn((use) => withMonitor(runtimeDir, use));
}
