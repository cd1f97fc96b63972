/**
 * Deleting a group snapshot: every member's snapshot and the group's record in ONE commit,
 * all or nothing across the members, then each member's disk work as post-commit work,
 * finished by recovery after a crash, as a single delete's is: a shut-off member's tag
 * removals and qemu-img merges (planInactiveDelete), a running member's through its QEMU
 * (planLiveDelete: block-commit merges, internal tags removed live). Members locked in
 * canonical order; every member planned (its own delete checks) before the journal.
 *
 * A member's snapshot is deleted alone only through its group (group-membership.ts).
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { declareOperationKind, type TxnContext } from '../../../txn/index.js';
import { unsupportedFlagsDetail } from '../../flag-rule.js';
import { loadDomain } from '../catalog/snapshot-catalog.js';
import { liveRuntime } from '../domain/active-domains.js';
import { runInactiveOperation } from '../journal/inactive-operation.js';
import { withMonitors } from '../qmp/domain-monitor.js';
import { planInactiveDelete, type PlannedInactiveDelete } from '../snapshot/delete/delete-inactive.js';
import { planLiveDelete, type PlannedLiveDelete } from '../snapshot/delete/delete-active.js';
import { withLockedMembers } from './group-members.js';

/** The txn operation kind of a group delete. */
export const GROUP_DELETE = 'group-delete';
declareOperationKind(GROUP_DELETE);

/** Deletes group snapshot `name` and every member's snapshot, all or nothing. */
export async function deleteGroupSnapshot(ctx: TxnContext, name: string, flags: number): Promise<void> {
  const detail = unsupportedFlagsDetail(flags, { fn: 'groupSnapshotDelete', allowed: 0 });
  if (detail !== undefined) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT, detail);
  const { store } = ctx;
  // A member undefined since has nothing left to delete: the group is deleted without it.
  await withLockedMembers(ctx, name, 'group-snapshot-delete', true, async (current, locks) => {
    if (current.length === 0) {
      store.transaction(() => store.groups.remove(name));
      return;
    }
    const runtimes = await Promise.all(current.map((m) => liveRuntime(ctx, m.ref.uuid)));
    const dirs = runtimes.flatMap((rt) => (rt ? [rt.runtimeDir] : []));
    // The running members' monitors stay open from their plans to their post-commit merges.
    await withMonitors(dirs, async (monitors) => {
      const plans: (PlannedInactiveDelete | PlannedLiveDelete)[] = [];
      const offline: PlannedInactiveDelete[] = [];
      const live: PlannedLiveDelete[] = [];
      // Every member's checks before anything is touched; the first member's error in canonical order is reported.
      for (const [i, m] of current.entries()) {
        const rt = runtimes[i];
        if (rt) {
          const p = await planLiveDelete(ctx, m.ref, rt.runtimeDir, monitors[dirs.indexOf(rt.runtimeDir)]!, m.snapshot, 0);
          live.push(p);
          plans.push(p);
        } else {
          const p = await planInactiveDelete(ctx, loadDomain(store, m.ref), m.snapshot, 0);
          offline.push(p);
          plans.push(p);
        }
      }
      for (const p of live) await p.check();
      const [lead, ...rest] = plans;
      await runInactiveOperation(ctx, locks[0]!, {
        kind: GROUP_DELETE,
        domainUuid: lead!.domainUuid,
        domainName: lead!.domainName,
        members: rest.map((p, i) => ({ uuid: p.domainUuid, name: p.domainName, lock: locks[i + 1]! })),
        summary: { group: name, members: plans.map((p) => ({ domain: p.domainUuid, removed: p.removed })) },
        steps: [],
        cleanup: offline.flatMap((p) => p.cleanup),
        finalizeAlso: live.flatMap((p) => p.resources),
        commit() {
          for (const p of plans) p.commit(store);
          store.groups.remove(name);
        },
      });
      for (const p of plans) p.warnKept();
    });
  });
}
