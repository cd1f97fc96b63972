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
import type { Store } from '../../../store/index.js';
import { declareOperationKind, type TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import { unsupportedFlagsDetail } from '../../flag-rule.js';
import { liveRuntime } from '../domain/active-domains.js';
import { loadDomain } from '../catalog/snapshot-catalog.js';
import { runInactiveOperation } from '../journal/inactive-operation.js';
import { planInactiveDelete, type PlannedInactiveDelete } from '../snapshot/delete/delete-inactive.js';
import { lockMembers } from './group-locks.js';

/** The txn operation kind of a group delete. */
export const GROUP_DELETE = 'group-delete';
declareOperationKind(GROUP_DELETE);

/** VIR_ERR_NO_DOMAIN_SNAPSHOT for a group that does not exist. */
export function noGroupSnapshot(name: string): Error {
  return virError(VirErrorCode.NO_DOMAIN_SNAPSHOT, VirErrorDomain.DOMAIN_SNAPSHOT, `no group snapshot with matching name '${name}'`);
}

/** The members of group `name` as domain handles, in canonical order. */
export function memberRefs(store: Store, name: string): { ref: DomainRef; snapshot: string }[] {
  const group = store.groups.get(name);
  if (!group) throw noGroupSnapshot(name);
  return group.members.map((m) => {
    const rec = store.domains.get(m.domainUuid);
    if (!rec) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN_SNAPSHOT,
        `group snapshot '${name}' has a member whose domain ${m.domainUuid} is no longer defined`);
    }
    return { ref: { uuid: rec.uuid, name: rec.name, id: -1 }, snapshot: m.snapshotName };
  });
}

/** Deletes group snapshot `name` and every member's snapshot, all or nothing. */
export async function deleteGroupSnapshot(ctx: TxnContext, name: string, flags: number): Promise<void> {
  const detail = unsupportedFlagsDetail(flags, { fn: 'groupSnapshotDelete', allowed: 0 });
  if (detail !== undefined) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT, detail);
  const { store } = ctx;
  const members = memberRefs(store, name);
  await lockMembers(ctx, members.map((m) => m.ref), 'group-snapshot-delete', async (locks) => {
    // Under the locks: the group may have gone, or changed, meanwhile.
    const current = memberRefs(store, name);
    if (current.map((m) => m.ref.uuid).join() !== members.map((m) => m.ref.uuid).join()) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN_SNAPSHOT, `group snapshot '${name}' changed meanwhile`);
    }
    for (const m of current) {
      if (await liveRuntime(ctx, m.ref.uuid)) {
        throw virError(VirErrorCode.OPERATION_UNSUPPORTED, VirErrorDomain.DOMAIN_SNAPSHOT,
          `domain '${m.ref.name}' is running: deleting a group snapshot of running domains is not supported yet`);
      }
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
