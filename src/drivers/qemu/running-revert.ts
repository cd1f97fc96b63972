/**
 * virDomainRevertToSnapshot where a QEMU process is involved: the domain is running, or
 * --running/--paused asks for it to run afterwards. As libvirt (≥ 7.10) does for
 * snapshots without memory state, the QEMU process is restarted: stop it (SIGTERM, so
 * it flushes its images), revert the shut-off domain (the offline driver's atomic
 * revert), then start it again with reason "from snapshot" when --running or --paused
 * (or, for a snapshot taken running, its state) asks for it. The whole sequence holds the
 * domain lock. A failed revert leaves the domain shut off with its disks as before the
 * revert, as libvirt leaves it.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import { PausedReason, RunningReason, ShutoffReason, SnapshotRevertFlags as R } from '../../api/flags.js';
import type { TxnContext } from '../../txn/index.js';
import type { DomainRef } from '../driver.js';
import { withOfflineLock } from './offline-operation.js';
import { revertOfflineSnapshot } from './offline-revert.js';
import { liveRuntime, startDomainLocked, stopDomainLocked } from './running-domains.js';
import { loadDomain, loadTree } from './snapshot-catalog.js';
import { hasInternalMemory, revertInternalWithMemory } from './running-snapshot-memory.js';
import { hasExternalMemory, revertExternalWithMemory } from './running-snapshot-external.js';
import { lockDomain } from '../../txn/index.js';

const Q = VirErrorDomain.QEMU;

/** What the domain is after the revert. */
export type RevertEndState = 'shutoff' | 'running' | 'paused';

/** True when a revert needs this module: the domain runs, or must run afterwards. */
export async function revertNeedsProcess(ctx: TxnContext, dom: DomainRef, name: string, flags: number): Promise<boolean> {
  if (flags & (R.RUNNING | R.PAUSED)) return true;
  // A snapshot with its machine state resumes that state: QEMU must run.
  const tree = loadTree(ctx.store, loadDomain(ctx.store, dom).record.uuid);
  if (tree.has(name) && (hasInternalMemory(tree.get(name, Q).def) || hasExternalMemory(tree.get(name, Q).def))) return true;
  return (await liveRuntime(ctx, dom.uuid)) !== null;
}

/** Reverts `dom` to snapshot `name`, stopping and (re)starting its QEMU as needed; returns the end state. */
export async function revertWithProcess(ctx: TxnContext, dom: DomainRef, name: string, flags: number): Promise<RevertEndState> {
  if ((flags & R.RUNNING) && (flags & R.PAUSED)) {
    throw virError(VirErrorCode.INVALID_ARG, Q,
      "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive");
  }
  const peek = loadTree(ctx.store, loadDomain(ctx.store, dom).record.uuid);
  if (peek.has(name) && hasExternalMemory(peek.get(name, Q).def)) {
    // Not the offline revert: the disks are reverted here, then the memory loaded.
    return lockDomain(ctx, dom.uuid, 'snapshot-revert', (lock) => {
      const snap = loadTree(ctx.store, dom.uuid).get(name, Q).def;
      return revertExternalWithMemory(ctx, lock, dom, snap, flags);
    });
  }
  return withOfflineLock(ctx, dom.uuid, 'snapshot-revert', async () => {
    const { record } = loadDomain(ctx.store, dom);
    const snap = loadTree(ctx.store, record.uuid).get(name, Q).def;
    if (hasInternalMemory(snap)) return revertInternalWithMemory(ctx, dom, snap, flags);
    if ((snap.state === 'running' || snap.state === 'paused') && snap.memory?.snapshot !== 'no') {
      throw virError(VirErrorCode.NO_SUPPORT, Q, `revert to snapshot '${name}' with external memory state is not supported yet`);
    }
    let end: RevertEndState = 'shutoff';
    if (flags & R.RUNNING) end = 'running';
    else if (flags & R.PAUSED) end = 'paused';
    else if (snap.state === 'running' || snap.state === 'paused') end = snap.state;

    if (await liveRuntime(ctx, record.uuid)) await stopDomainLocked(ctx, dom, ShutoffReason.FROM_SNAPSHOT);
    await revertOfflineSnapshot(ctx, dom, name, flags & ~(R.RUNNING | R.PAUSED));
    if (end !== 'shutoff') {
      await startDomainLocked(ctx, dom, {
        paused: end === 'paused',
        reason: end === 'paused' ? PausedReason.FROM_SNAPSHOT : RunningReason.FROM_SNAPSHOT,
      });
    }
    return end;
  });
}
