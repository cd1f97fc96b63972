/** A snapshot-check report from its wire form (snapvirt_domain_snapshot_check_ret). */
import type { SnapvirtDomainSnapshotCheckRet } from '../../rpc/generated/snapvirt-protocol.js';
import type { SnapshotCheckFinding, SnapshotCheckFindingKind, SnapshotCheckReport } from '../snapshot-check-report.js';

export function reportOf(r: SnapvirtDomainSnapshotCheckRet): SnapshotCheckReport {
  return {
    domain: r.domain,
    repaired: r.repaired !== 0,
    consistent: r.consistent !== 0,
    findings: r.findings.map((f): SnapshotCheckFinding => ({
      kind: f.kind as SnapshotCheckFindingKind,
      subject: f.subject,
      message: f.message,
      repairable: f.repairable !== 0,
      ...(f.reason === null ? {} : { reason: f.reason }),
      ...(f.repair === null ? {} : { repair: { done: f.repair.done !== 0, detail: f.repair.detail } }),
    })),
  };
}
