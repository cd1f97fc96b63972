/**
 * Reverting a group snapshot: every member back to its snapshot of the group, all or
 * nothing. Members locked in canonical order and planned with a single revert's checks
 * (planInactiveRevert); one journal entry; every member's disk work (tags applied with
 * their undo tags, fresh overlays on the frozen images) as one journaled step; one commit
 * of every member's definition and current snapshot; the undo tags dropped after it.
 * That is the way for shut-off members that stay so; a running member, --running/--paused,
 * or a member's snapshot with a machine state takes group-revert-live.ts (a new QEMU per
 * member, one switch, one commit).
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { declareFailpoints, declareOperationKind, type TxnContext } from '../../../txn/index.js';
import { SnapshotRevertFlags as R } from '../../../api/flags.js';
import { unsupportedFlagsDetail } from '../../flag-rule.js';
import { loadDomain } from '../catalog/snapshot-catalog.js';
import { runInactiveOperation } from '../journal/inactive-operation.js';
import { planInactiveRevert, type PlannedInactiveRevert } from '../snapshot/revert/revert-inactive.js';
import { withLockedMembers } from './group-members.js';
import { groupRevertNeedsProcess, revertGroupLive } from './group-revert-live.js';

/** The txn operation kind of a group revert. */
export const GROUP_REVERT = 'group-revert';
declareOperationKind(GROUP_REVERT);
declareFailpoints([`${GROUP_REVERT}.prepare.disk.after`]);

/** Reverts every member of group snapshot `name` to it, all or nothing. */
export async function revertGroupSnapshot(ctx: TxnContext, name: string, flags: number): Promise<void> {
  const detail = unsupportedFlagsDetail(flags, { fn: 'groupSnapshotRevert', allowed: R.RUNNING | R.PAUSED });
  if (detail !== undefined) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT, detail);
  if ((flags & R.RUNNING) && (flags & R.PAUSED)) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.QEMU,
      "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive");
  }
  const end = flags & R.RUNNING ? 'running' : flags & R.PAUSED ? 'paused' : null;
  const { store } = ctx;
  await withLockedMembers(ctx, name, 'group-snapshot-revert', false, async (current, locks) => {
    if (await groupRevertNeedsProcess(ctx, current, end)) {
      await revertGroupLive(ctx, name, current, locks, flags);
      return;
    }
    const plans: PlannedInactiveRevert[] = [];
    for (const m of current) plans.push(await planInactiveRevert(ctx, loadDomain(store, m.ref), m.snapshot, 0));
    const [lead, ...rest] = plans;
    await runInactiveOperation(ctx, locks[0]!, {
      kind: GROUP_REVERT,
      domainUuid: lead!.domainUuid,
      domainName: lead!.domainName,
      members: rest.map((p, i) => ({ uuid: p.domainUuid, name: p.domainName, lock: locks[i + 1]! })),
      summary: { group: name, members: plans.map((p) => p.domainUuid) },
      steps: plans.flatMap((p) => p.steps),
      extraSteps: plans.flatMap((p) => p.firmwareSteps),
      cleanup: plans.flatMap((p) => p.cleanup),
      touches: plans.flatMap((p) => p.touches),
      commit() {
        for (const p of plans) p.commit(store);
      },
    });
    for (const p of plans) p.warnKept();
  });
}
