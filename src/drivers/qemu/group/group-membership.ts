/**
 * A group's members belong to it: a single domain's delete that would remove a member's
 * snapshot (itself, or as a child) is refused, so a group never names a snapshot that is
 * gone; the group is deleted as one (group-delete.ts). Forced (LEAVE_GROUP, `--force`),
 * the member's snapshot leaves its group in the delete's own commit.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { Store } from '../../../store/index.js';
import type { DomainRef } from '../../driver.js';

/**
 * Refuses (VIR_ERR_OPERATION_INVALID) a single domain's delete that would remove a group's
 * member snapshot, unless `leave`: the group would name a snapshot that is gone. Returns
 * what the delete's commit transaction runs: with `leave`, each such snapshot leaves its
 * group (a group left with no member is removed); otherwise nothing.
 */
export function refuseGroupMembers(store: Store, dom: DomainRef, removed: readonly string[], leave = false): (store: Store) => void {
  const groups: string[] = [];
  for (const snapshot of removed) {
    const group = store.groups.groupOf(dom.uuid, snapshot);
    if (group === undefined) continue;
    if (!leave) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN_SNAPSHOT,
        `snapshot '${snapshot}' of domain '${dom.name}' is a member of group snapshot '${group}': ` +
        `delete the group with group-snapshot-delete ${group}, or this domain's snapshot alone with --force`);
    }
    groups.push(group);
  }
  return (s) => {
    for (const group of groups) {
      s.groups.removeMember(group, dom.uuid);
      if (s.groups.get(group)?.members.length === 0) s.groups.remove(group);
    }
  };
}

/**
 * Refuses (VIR_ERR_OPERATION_INVALID) reverting one domain to its group snapshot alone,
 * unless `force` (REVERT_FORCE, `--force`): the members would no longer share one instant.
 */
export function refuseGroupMemberRevert(store: Store, dom: DomainRef, snapshot: string, force: boolean): void {
  const group = store.groups.groupOf(dom.uuid, snapshot);
  if (group === undefined || force) return;
  throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN_SNAPSHOT,
    `snapshot '${snapshot}' of domain '${dom.name}' is a member of group snapshot '${group}': ` +
    `revert the group with group-snapshot-revert ${group}, or this domain alone with --force`);
}
