/**
 * A group's members belong to it: a single domain's delete that would remove a member's
 * snapshot (itself, or as a child) is refused, so a group never names a snapshot that is
 * gone; the group is deleted as one (group-delete.ts).
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { Store } from '../../../store/index.js';
import type { DomainRef } from '../../driver.js';

/**
 * Refuses (VIR_ERR_OPERATION_INVALID) a single domain's delete that would remove a group's
 * member snapshot: the group would name a snapshot that is gone.
 */
export function refuseGroupMembers(store: Store, dom: DomainRef, removed: readonly string[]): void {
  for (const snapshot of removed) {
    const group = store.groups.groupOf(dom.uuid, snapshot);
    if (group === undefined) continue;
    throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN_SNAPSHOT,
      `snapshot '${snapshot}' of domain '${dom.name}' is a member of group snapshot '${group}': ` +
      `delete the group with group-snapshot-delete ${group}`);
  }
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
