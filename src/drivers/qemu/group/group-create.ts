/**
 * A group snapshot of several QEMU domains, all or nothing across every member: each
 * member gets an ordinary snapshot named as the group (so `snapshot-list DOMAIN` shows
 * it), and the group's record names them. The protocol is a single domain's, spanning
 * the members:
 *
 *   check (flags, XML, the name free everywhere) → lock every member in canonical order
 *   (by UUID) → plan every member (each member's own checks, nothing touched) → ONE
 *   journal entry for the group (under the first member, the others listed as members)
 *   → prepare every member's disks (qemu-img: internal tags, or with DISK_ONLY external
 *   overlays) as one journaled step → ONE commit writing every member's snapshot
 *   metadata, their definitions and the group record.
 *
 * A failure anywhere before the commit (the last disk of the last member included) undoes
 * every member's tags and overlays; a crash anywhere is rolled back by the next open (or
 * the next lock of any member), which takes every member's lock as this did.
 *
 * Running members are not supported yet (their live switch inside one window: freeze,
 * stop every vCPU, one QMP transaction per QEMU, resume, thaw): refused up front.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { SnapshotCreateFlags as C } from '../../../api/flags.js';
import { parseGroupSnapshotXML } from '../../../conf/groupsnapshot-xml.js';
import { checkSnapshotName, parseSnapshotXML } from '../../../conf/snapshot-xml.js';
import { escapeXml } from '../../../conf/xml-format.js';
import { declareFailpoints, declareOperationKind, type TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import { unsupportedFlagsDetail } from '../../flag-rule.js';
import { isDomainRunning } from '../domain/active-domains.js';
import { readLockTable } from '../images/image-lock-probe.js';
import { loadDomain } from '../catalog/snapshot-catalog.js';
import { runInactiveOperation } from '../journal/inactive-operation.js';
import { planInactiveCreate, type PlannedInactiveCreate } from '../snapshot/create/create-inactive.js';
import { canonicalMembers, lockMembers } from './group-locks.js';

/** The txn operation kind of a group create. */
export const GROUP_CREATE = 'group-create';
declareOperationKind(GROUP_CREATE);
// runInactiveOperation's per-disk point, counted over every disk of every member.
declareFailpoints([`${GROUP_CREATE}.prepare.disk.after`]);

/** The flags a group create knows: a domain snapshot's that make sense for a group (ATOMIC is implied). */
const GROUP_CREATE_FLAGS = C.DISK_ONLY | C.QUIESCE | C.ATOMIC;

/** Creates the group snapshot `xml` (a `<groupsnapshot>`) of `doms`; returns its name. */
export async function createGroupSnapshot(ctx: TxnContext, doms: readonly DomainRef[], xml: string, flags: number): Promise<string> {
  const detail = unsupportedFlagsDetail(flags, { fn: 'groupSnapshotCreateXML', allowed: GROUP_CREATE_FLAGS });
  if (detail !== undefined) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT, detail);
  if ((flags & C.QUIESCE) && !(flags & C.DISK_ONLY)) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT,
      "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'");
  }
  const request = parseGroupSnapshotXML(xml);
  checkSnapshotName(request.name, VirErrorDomain.DOMAIN_SNAPSHOT);
  const members = canonicalMembers(doms);
  const { store } = ctx;
  return lockMembers(ctx, members, 'group-snapshot-create', async ([lead, ...rest]) => {
    if (store.groups.get(request.name)) {
      throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN_SNAPSHOT, `group snapshot ${request.name} already exists`);
    }
    for (const m of members) {
      if (await isDomainRunning(ctx, m.uuid)) {
        throw virError(VirErrorCode.OPERATION_UNSUPPORTED, VirErrorDomain.DOMAIN_SNAPSHOT,
          `domain '${m.name}' is running: group snapshots of running domains are not supported yet`);
      }
    }
    if (flags & C.QUIESCE) {
      // Only a running guest has filesystems to freeze (libvirt's message for one domain).
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'domain is not running');
    }
    const creationTime = Math.floor(Date.now() / 1000);
    const memberXml = `<domainsnapshot><name>${escapeXml(request.name)}</name>` +
      (request.description === undefined ? '' : `<description>${escapeXml(request.description)}</description>`) +
      '</domainsnapshot>';
    const lockTable = readLockTable();
    // Every member's checks before anything is touched; the first member's error in canonical order is reported.
    const plans: PlannedInactiveCreate[] = [];
    for (const m of members) {
      const { def } = parseSnapshotXML(memberXml, { offline: true, now: creationTime });
      plans.push(await planInactiveCreate(ctx, loadDomain(store, m), def, flags & C.DISK_ONLY, lockTable));
    }
    await runInactiveOperation(ctx, lead!, {
      kind: GROUP_CREATE,
      domainUuid: plans[0]!.domainUuid,
      domainName: plans[0]!.domainName,
      members: rest.map((lock, i) => ({ uuid: plans[i + 1]!.domainUuid, name: plans[i + 1]!.domainName, lock })),
      summary: { group: request.name, flags, members: plans.map((p) => ({ domain: p.domainUuid, actions: p.actions })) },
      steps: plans.flatMap((p) => p.steps),
      cleanup: [],
      touches: plans.flatMap((p) => p.touches),
      commit() {
        for (const p of plans) p.commit(store);
        store.groups.add({
          name: request.name,
          description: request.description ?? null,
          creationTime,
          state: 'shutoff',
          members: plans.map((p) => ({ domainUuid: p.domainUuid, snapshotName: request.name })),
        });
      },
    });
    return request.name;
  });
}
