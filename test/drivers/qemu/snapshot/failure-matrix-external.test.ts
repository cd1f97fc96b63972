/**
 * Failure matrix, external snapshots (create, revert, delete) on 2 and 8 disks failing on
 * the 2nd or the last disk: missing directory, read-only tmpfs and bind mount, chattr +i,
 * full tmpfs, existing target, a qemu-io holder, a failing qemu-img, a failpoint. After
 * each, everything is as before.
 */
import { test } from 'node:test';
import { runMatrixRow } from '../../../helpers/failure-matrix-run.js';

for (const [n, k] of [[2, 1], [8, 1], [8, 7]] as const) {
  test(`external create/revert/delete, ${n} disks, faults on disk ${k + 1}, failpoint once ${k + 1} disks are done`, async () => {
    await runMatrixRow(n, k, 'external');
  });
}
