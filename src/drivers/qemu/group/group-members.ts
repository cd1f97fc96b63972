/**
 * The members of an existing group, for its revert and delete: read from the group's
 * record, locked in canonical order, read again under the locks (the group may have gone
 * or changed meanwhile).
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { Store } from '../../../store/index.js';
import type { DomainLock, TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import { lockMembers } from './group-locks.js';

/** One member: its domain and its snapshot of the group. */
export interface GroupMember {
  ref: DomainRef;
  snapshot: string;
}

/** VIR_ERR_NO_DOMAIN_SNAPSHOT for a group that does not exist. */
export function noGroupSnapshot(name: string): Error {
  return virError(VirErrorCode.NO_DOMAIN_SNAPSHOT, VirErrorDomain.DOMAIN_SNAPSHOT, `no group snapshot with matching name '${name}'`);
}

/**
 * The members of group `name` as domain handles, in canonical order. A member whose domain
 * was undefined since (its snapshots with it) is left out with `skipGone`, else refused.
 */
export function memberRefs(store: Store, name: string, skipGone = false): GroupMember[] {
  const group = store.groups.get(name);
  if (!group) throw noGroupSnapshot(name);
  return group.members.flatMap((m) => {
    const rec = store.domains.get(m.domainUuid);
    if (!rec && skipGone) return [];
    if (!rec) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN_SNAPSHOT,
        `group snapshot '${name}' has a member whose domain ${m.domainUuid} is no longer defined`);
    }
    return [{ ref: { uuid: rec.uuid, name: rec.name, id: -1 }, snapshot: m.snapshotName }];
  });
}

/**
 * Runs `fn` with every member of group `name` locked (locks in member order), read again
 * under the locks; `skipGone` as for memberRefs.
 */
export async function withLockedMembers(
  ctx: TxnContext, name: string, operation: string, skipGone: boolean,
  fn: (members: GroupMember[], locks: DomainLock[]) => Promise<void>,
): Promise<void> {
  const members = memberRefs(ctx.store, name, skipGone);
  await lockMembers(ctx, members.map((m) => m.ref), operation, async (locks) => {
    const current = memberRefs(ctx.store, name, skipGone);
    if (current.map((m) => m.ref.uuid).join() !== members.map((m) => m.ref.uuid).join()) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN_SNAPSHOT, `group snapshot '${name}' changed meanwhile`);
    }
    await fn(current, locks);
  });
}
