/**
 * Deleting a group snapshot: every member's snapshot and the group's record in ONE commit,
 * all or nothing across the members, then each member's disk work (tag removals, merges)
 * as post-commit work, finished by recovery after a crash, as a single delete's is.
 * Members locked in canonical order; every member planned (its own delete checks) before
 * the journal. Running members are not supported yet: refused up front.
 *
 * A member's snapshot is deleted alone only through its group (group-membership.ts).
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { declareOperationKind, type TxnContext } from '../../../txn/index.js';
import { unsupportedFlagsDetail } from '../../flag-rule.js';
import { loadDomain } from '../catalog/snapshot-catalog.js';
import { runInactiveOperation } from '../journal/inactive-operation.js';
import { planInactiveDelete, type PlannedInactiveDelete } from '../snapshot/delete/delete-inactive.js';
import { withShutOffMembers } from './group-members.js';

/** The txn operation kind of a group delete. */
export const GROUP_DELETE = 'group-delete';
declareOperationKind(GROUP_DELETE);

/** Deletes group snapshot `name` and every member's snapshot, all or nothing. */
export async function deleteGroupSnapshot(ctx: TxnContext, name: string, flags: number): Promise<void> {
  const detail = unsupportedFlagsDetail(flags, { fn: 'groupSnapshotDelete', allowed: 0 });
  if (detail !== undefined) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT, detail);
  const { store } = ctx;
  // A member undefined since has nothing left to delete: the group is deleted without it.
  await withShutOffMembers(ctx, name, 'group-snapshot-delete', 'deleting', true, async (current, locks) => {
    if (current.length === 0) {
      store.transaction(() => store.groups.remove(name));
      return;
    }
    const plans: PlannedInactiveDelete[] = [];
    for (const m of current) plans.push(await planInactiveDelete(ctx, loadDomain(store, m.ref), m.snapshot, 0));
    const [lead, ...rest] = plans;
    await runInactiveOperation(ctx, locks[0]!, {
      kind: GROUP_DELETE,
      domainUuid: lead!.domainUuid,
      domainName: lead!.domainName,
      members: rest.map((p, i) => ({ uuid: p.domainUuid, name: p.domainName, lock: locks[i + 1]! })),
      summary: { group: name, members: plans.map((p) => ({ domain: p.domainUuid, removed: p.removed })) },
      steps: [],
      cleanup: plans.flatMap((p) => p.cleanup),
      commit() {
        for (const p of plans) p.commit(store);
        store.groups.remove(name);
      },
    });
    for (const p of plans) p.warnKept();
  });
}
