/**
 * Reverting a group snapshot: every member back to its snapshot of the group, all or
 * nothing. Members locked in canonical order and planned with a single revert's checks
 * (planInactiveRevert); one journal entry; every member's disk work (tags applied with
 * their undo tags, fresh overlays on the frozen images) as one journaled step; one commit
 * of every member's definition and current snapshot; the undo tags dropped after it.
 * Members must be shut off and stay so: a running member, and --running/--paused, are
 * refused for now (their revert needs a new QEMU per member inside one window).
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { declareFailpoints, declareOperationKind, type TxnContext } from '../../../txn/index.js';
import { unsupportedFlagsDetail } from '../../flag-rule.js';
import { loadDomain } from '../catalog/snapshot-catalog.js';
import { runInactiveOperation } from '../journal/inactive-operation.js';
import { planInactiveRevert, type PlannedInactiveRevert } from '../snapshot/revert/revert-inactive.js';
import { withShutOffMembers } from './group-members.js';

/** The txn operation kind of a group revert. */
export const GROUP_REVERT = 'group-revert';
declareOperationKind(GROUP_REVERT);
declareFailpoints([`${GROUP_REVERT}.prepare.disk.after`]);

/** Reverts every member of group snapshot `name` to it, all or nothing. */
export async function revertGroupSnapshot(ctx: TxnContext, name: string, flags: number): Promise<void> {
  const detail = unsupportedFlagsDetail(flags, { fn: 'groupSnapshotRevert', allowed: 0 });
  if (detail !== undefined) {
    throw virError(VirErrorCode.OPERATION_UNSUPPORTED, VirErrorDomain.DOMAIN_SNAPSHOT,
      `reverting a group snapshot with --running or --paused is not supported yet (${detail})`);
  }
  const { store } = ctx;
  await withShutOffMembers(ctx, name, 'group-snapshot-revert', 'reverting', false, async (current, locks) => {
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
