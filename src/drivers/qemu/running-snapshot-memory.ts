/**
 * Full-system internal snapshots of a running domain (libvirt's default when a running
 * domain is snapshotted without --disk-only): the machine state and every disk go into
 * one internal qcow2 snapshot with the snapshot's name (QMP snapshot-save job; vmstate in
 * the first disk). On the txn engine: the save is one journaled step whose undo deletes
 * the tag again (through QEMU while it runs, with qemu-img otherwise), so a failure or a
 * crash before the metadata commit leaves no tag behind. Revert loads it back
 * (snapshot-load), starting QEMU first when the domain is shut off.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import { PausedReason, RunningReason, SnapshotRevertFlags as R } from '../../api/flags.js';
import { cloneDomainDef } from '../../conf/domain-xml.js';
import type { DomainDef } from '../../conf/domain-types.js';
import type { SnapshotDef } from '../../conf/snapshot-types.js';
import { alignSnapshotDisks, checkSnapshotLocations } from '../../snapshot/disk-align.js';
import type { SnapshotTree } from '../../snapshot/snapshot-tree.js';
import { applyCreation } from '../../snapshot/tree-insert.js';
import { runOperation, type DomainLock, type TxnContext } from '../../txn/index.js';
import type { DomainRef } from '../driver.js';
import { diskTopNodes, loadVmSnapshot, saveVmSnapshot } from './live/internal-vm-snapshot.js';
import type { QmpClient } from './live/qmp-client.js';
import { qmpErrorToVirError } from './live/qmp-errors.js';
import { isJsonObject } from './live/qmp-json.js';
import { liveDef, liveRuntime, startDomainLocked } from './running-domains.js';
import { withMonitor } from './running-monitor.js';
import type { DomainRuntime } from './running-runtime.js';
import { LIVE_SAVE, LIVE_VM_TAG, nodeWithTag } from './running-txn.js';
import { loadDomain, loadTree, saveTree } from './snapshot-catalog.js';

const Q = VirErrorDomain.QEMU;


/** Whether the vCPUs run, from query-status. */
async function isRunning(qmp: QmpClient): Promise<boolean> {
  const status = await qmp.execute('query-status');
  return isJsonObject(status) && status.running === true;
}

/**
 * Creates a full-system internal snapshot of running domain `dom` (already parsed as
 * `def`; its memory element asks for internal). The caller holds the lock and has checked flags.
 */
export async function createInternalWithMemory(
  ctx: TxnContext, lock: DomainLock, dom: DomainRef, rt: DomainRuntime, def: SnapshotDef, keepMetadata: boolean, tree: SnapshotTree,
): Promise<void> {
  const live = liveDef(ctx, dom);
  def.memory = { snapshot: 'internal' };
  alignSnapshotDisks(def, live, { defaultMode: 'internal', uniformInternal: true });
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
      steps: [{
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
    });
  });
}

/** True when `snap` holds the machine state internally (revert with snapshot-load). */
export function hasInternalMemory(snap: SnapshotDef): boolean {
  return (snap.state === 'running' || snap.state === 'paused') && snap.memory?.snapshot === 'internal';
}

/**
 * Reverts to a full-system internal snapshot: the domain's QEMU (started paused first if
 * the domain is shut off) loads the tag, then runs or stays paused per --running/--paused
 * or the snapshot's state; reason "from snapshot". The caller holds the lock.
 */
export async function revertInternalWithMemory(ctx: TxnContext, dom: DomainRef, snap: SnapshotDef, flags: number): Promise<'running' | 'paused'> {
  const { record, def: persistent } = loadDomain(ctx.store, dom);
  const end: 'running' | 'paused' = flags & R.RUNNING ? 'running' : flags & R.PAUSED ? 'paused' : snap.state === 'paused' ? 'paused' : 'running';
  const targets = snap.disks.filter((d) => d.snapshot === 'internal').map((d) => d.name);
  let rt = await liveRuntime(ctx, record.uuid);
  const current: DomainDef = rt ? liveDef(ctx, dom) : persistent;
  for (const target of targets) {
    const then = snap.domain?.disks.find((d) => d.target === target)?.sourcePath;
    const now = current.disks.find((d) => d.target === target)?.sourcePath;
    if (then === undefined || then !== now) {
      throw virError(VirErrorCode.OPERATION_UNSUPPORTED, Q,
        `revert to snapshot '${snap.name}' needs disk '${target}' on '${then ?? '?'}', where its state was saved; it is on '${now ?? '?'}'`);
    }
  }
  if (!rt) rt = await startDomainLocked(ctx, dom, { paused: true, reason: PausedReason.FROM_SNAPSHOT });
  const runtimeDir = rt.runtimeDir;
  await withMonitor(runtimeDir, async (qmp) => {
    const tops = await diskTopNodes(qmp, targets);
    if (await isRunning(qmp)) await qmp.execute('stop');
    try {
      await loadVmSnapshot(qmp, snap.name, tops[0]!.node, tops.map((t) => t.node));
    } catch (err) {
      throw qmpErrorToVirError(err);
    }
    if (end === 'running') await qmp.execute('cont');
  });
  ctx.store.transaction(() => {
    const fresh = loadTree(ctx.store, record.uuid);
    fresh.setCurrent(snap.name);
    saveTree(ctx.store, record.uuid, fresh);
    const text = ctx.store.domains.get(record.uuid)?.runtime;
    if (text) {
      const parsed = JSON.parse(text) as DomainRuntime;
      ctx.store.domains.update(record.uuid, { runtime: JSON.stringify({
        ...parsed, state: end, reason: end === 'running' ? RunningReason.FROM_SNAPSHOT : PausedReason.FROM_SNAPSHOT,
      }) });
    }
  });
  return end;
}
