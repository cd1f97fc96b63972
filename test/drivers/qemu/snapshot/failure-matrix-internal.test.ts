/**
 * Failure matrix, internal snapshots (create, revert, delete) on 2 and 8 disks failing on
 * the last disk (the 8-disk row fails on disk 8: the most to undo; disk 2 of 8 is covered
 * by the external rows): every fault leaves dumpxml, directory listings, backing chains
 * with their tags, the failing disk's data, and the snapshot list and current unchanged.
 */
import { test } from 'node:test';
import { runMatrixRow } from '../../../helpers/failure-matrix-run.js';

for (const [n, k] of [[2, 1], [8, 7]] as const) {
  test(`internal create/revert/delete, ${n} disks, faults on disk ${k + 1}, failpoint once ${k + 1} disks are done`, async () => {
    await runMatrixRow(n, k, 'internal');
  });
}
