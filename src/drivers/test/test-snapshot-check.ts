/**
 * snapshot-check on the test driver: it has no disks, so the check is the snapshot tree's
 * metadata alone (parents exist and match the links, no loops, one current at most, all
 * reachable). Nothing is ever repaired: only the user can tell which parent is right.
 */
import { checkSnapshotTree } from '../../snapshot/tree-check.js';
import {
  checkReport, SNAPSHOT_CHECK_REPAIR, type SnapshotCheckFinding, type SnapshotCheckReport,
} from '../snapshot-check-report.js';
import type { TestDomainObj } from './test-domain-obj.js';
import { checkFlags } from './test-snapshot-ops.js';

/** Checks (and with SNAPSHOT_CHECK_REPAIR, reports as unrepaired) the tree of `vm`. */
export function checkTestSnapshots(vm: TestDomainObj, flags: number): SnapshotCheckReport {
  checkFlags(flags, SNAPSHOT_CHECK_REPAIR, 'testDomainSnapshotCheck');
  const repair = (flags & SNAPSHOT_CHECK_REPAIR) !== 0;
  const findings = checkSnapshotTree(vm.snapshots).map((p): SnapshotCheckFinding => ({
    kind: 'tree', subject: p.snapshot, message: p.message, repairable: false,
    ...(repair ? { repair: { done: false, detail: 'only you can tell which parent is right; fix it with snapshot-create --redefine' } } : {}),
  }));
  return checkReport(vm.name, repair, findings);
}
