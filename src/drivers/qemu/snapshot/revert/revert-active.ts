/**
 * virDomainRevertToSnapshot where a QEMU process is involved: the domain is running, or
 * --running/--paused (or the snapshot's own machine state) asks for it to run afterwards.
 * All or nothing, including the run state, even if this process is killed halfway:
 *
 * - A snapshot with an internal machine state is loaded into the running QEMU after the
 *   current state was saved as the way back (create-active-internal.ts).
 * - Every other snapshot (disk-only, shut off, external memory) gets a new QEMU prepared
 *   beside the old one, which is only stopped once the new one is ready
 *   (revert-active-new-process.ts). libvirt (≥ 7.10) restarts QEMU too, but stops the old
 *   one first, so a failure after that leaves the domain shut off.
 *
 * Both hold the domain lock throughout and are journaled as `live-revert`
 * (active-revert-resources.ts, which also finishes an interrupted one).
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { SnapshotRevertFlags as R } from '../../../../api/flags.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import { lockDomainJob, SNAPSHOT_REVERT_JOB, type TxnContext } from '../../../../txn/index.js';
import type { DomainRef } from '../../../driver.js';
import { liveDef, liveRuntime } from '../../domain/active-domains.js';
import { revertBySwitchingProcess } from './revert-active-new-process.js';
import type { RevertEndState } from '../../journal/active-revert-resources.js';
import { hasInternalMemory, revertInternalWithMemory } from '../create/create-active-internal.js';
import { hasExternalMemory } from '../create/create-active-external-memory.js';
import { loadDomain, loadTree } from '../../catalog/snapshot-catalog.js';
import { checkQemuFlags } from '../../qemu-flags.js';
import { refuseGroupMemberRevert } from '../../group/group-membership.js';

export type { RevertEndState } from '../../journal/active-revert-resources.js';

const Q = VirErrorDomain.QEMU;
/** True when a revert needs this module: the domain runs, or must run afterwards. */
export async function revertNeedsProcess(ctx: TxnContext, dom: DomainRef, name: string, flags: number): Promise<boolean> {
  if (flags & (R.RUNNING | R.PAUSED)) return true;
  // A snapshot with its machine state resumes that state: QEMU must run.
  const tree = loadTree(ctx.store, loadDomain(ctx.store, dom).record.uuid);
  if (tree.has(name) && (hasInternalMemory(tree.get(name, Q).def) || hasExternalMemory(tree.get(name, Q).def))) return true;
  return (await liveRuntime(ctx, dom.uuid)) !== null;
}

/** The state the domain ends in: --running/--paused, else the snapshot's own (running, paused), else shut off. */
export function endStateOf(snap: SnapshotDef, flags: number): RevertEndState {
  if (flags & R.RUNNING) return 'running';
  if (flags & R.PAUSED) return 'paused';
  if (snap.state === 'running' || snap.state === 'paused') return snap.state;
  return 'shutoff';
}

/** Refuses a snapshot a delete left half done. */
export function refuseDeleting(snap: SnapshotDef): void {
  if (snap.disks.some((d) => d.deleteInProgress)) {
    throw virError(VirErrorCode.OPERATION_INVALID, Q, `snapshot '${snap.name}' is being deleted`);
  }
}

/** Refuses a running or paused snapshot whose memory state a new QEMU cannot load (neither external nor none). */
export function refuseUnknownMemory(snap: SnapshotDef): void {
  if ((snap.state === 'running' || snap.state === 'paused') && snap.memory?.snapshot !== 'no' && !hasExternalMemory(snap)) {
    throw virError(VirErrorCode.NO_SUPPORT, Q, `revert to snapshot '${snap.name}' with this memory state is not supported yet`);
  }
}

/** Reverts `dom` to snapshot `name`, switching or (re)starting its QEMU as needed; returns the end state. */
export async function revertWithProcess(ctx: TxnContext, dom: DomainRef, name: string, flags: number): Promise<RevertEndState> {
  checkQemuFlags(flags, 'revertToSnapshot');
  if ((flags & R.RUNNING) && (flags & R.PAUSED)) {
    throw virError(VirErrorCode.INVALID_ARG, Q,
      "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive");
  }
  return lockDomainJob(ctx, dom.uuid, 'snapshot-revert', SNAPSHOT_REVERT_JOB, async (lock) => {
    const { record, def: persistent } = loadDomain(ctx.store, dom);
    const tree = loadTree(ctx.store, record.uuid);
    const snap = tree.get(name, Q).def;
    refuseGroupMemberRevert(ctx.store, dom, name, (flags & R.FORCE) !== 0);
    refuseDeleting(snap);
    const old = await liveRuntime(ctx, record.uuid);
    const end = endStateOf(snap, flags);
    if (hasInternalMemory(snap)) {
      // Loaded into the running QEMU (or a new one): the machine state carries the TPM's state.
      // A machine state is resumed: never shut off.
      const live = end === 'shutoff' ? 'running' : end;
      await revertInternalWithMemory(ctx, lock, { dom, snap, old, end: live });
      return live;
    }
    refuseUnknownMemory(snap);
    await revertBySwitchingProcess(ctx, lock, {
      dom, snap, tree, old, end, current: old ? liveDef(ctx, dom) : persistent, resetNvram: (flags & R.RESET_NVRAM) !== 0,
    });
    return end;
  });
}
