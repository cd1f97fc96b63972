/**
 * snapvirt's own program (snapvirt_protocol.x): snapshot-check, a snapshot's freeze
 * record and disks' backing chains, each through the public API (or, for the chains, the
 * driver function Domain.getDefinition uses), so a remote client gets the results and
 * errors a local one gets. The event registration procedures are snapshot-event-relay.ts's.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import { SNAPSHOT_CHECK_REPAIR, type SnapshotCheckReport } from '../drivers/snapshot-check-report.js';
import type { SnapvirtDomainSnapshotCheckRet } from '../rpc/generated/snapvirt-protocol.js';
import type { SnapvirtHandlers } from './handler-types.js';
import { domainOf, snapshotOf } from './wire-objects.js';

/** A report as the wire carries it (absent optional strings as null, booleans as ints). */
function wireReport(r: SnapshotCheckReport): SnapvirtDomainSnapshotCheckRet {
  return {
    domain: r.domain,
    repaired: r.repaired ? 1 : 0,
    consistent: r.consistent ? 1 : 0,
    findings: r.findings.map((f) => ({
      kind: f.kind,
      subject: f.subject,
      message: f.message,
      repairable: f.repairable ? 1 : 0,
      reason: f.reason ?? null,
      repair: f.repair ? { done: f.repair.done ? 1 : 0, detail: f.repair.detail } : null,
    })),
  };
}

export const snapvirtHandlers: SnapvirtHandlers = {
  SNAPVIRT_PROC_DOMAIN_SNAPSHOT_CHECK: async (s, { dom, flags }) => {
    const conn = s.connection();
    if ((flags & ~SNAPSHOT_CHECK_REPAIR) !== 0) {
      // virCheckFlags' refusal, as a libvirt driver function gives it.
      throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN, `unsupported flags (0x${(flags & ~SNAPSHOT_CHECK_REPAIR).toString(16)}) in function virDomainSnapshotCheck`);
    }
    return wireReport(await domainOf(conn, dom).checkSnapshots({ repair: (flags & SNAPSHOT_CHECK_REPAIR) !== 0 }));
  },
  SNAPVIRT_PROC_DOMAIN_SNAPSHOT_GET_QUIESCE_INFO: async (s, { snap }) => {
    const info = await snapshotOf(s.connection(), snap).getQuiesceInfo();
    return { quiesced: info.quiesced ? 1 : 0, frozen_filesystems: info.frozenFilesystems ?? -1 };
  },
  SNAPVIRT_PROC_DOMAIN_GET_DISK_CHAINS: async (s, { dom, disks, live }) => {
    const conn = s.connection();
    const queries = disks.map((d) => ({ target: d.target, type: d.type, ...(d.source === null ? {} : { source: d.source }), ...(d.format === null ? {} : { format: d.format }) }));
    const answers = await conn.driverFor('virDomainGetXMLDesc', VirErrorDomain.DOMAIN).domainGetDiskChains(domainOf(conn, dom).handle, queries, live !== 0);
    return {
      chains: answers.map((a) => ({
        layers: a.layers.map((l) => ({ path: l.path, format: l.format })),
        origin: a.origin,
        note: a.note ?? null,
      })),
    };
  },
};
