/**
 * blockCommitLayer is restartable: a process killed after QEMU finished (and dismissed)
 * an active commit leaves the merged overlay's block node attached and holding its file
 * open. Running the merge again must see the layer gone from the chain and still delete
 * that node, or the node outlives the merge (and its file, which the caller removes next).
 * A process killed while the job still runs leaves the job's filter node (commit_top) on
 * top of the overlay, with the overlay's file name: the rerun must not take it for the
 * overlay's node. (Both found by random kills during live merges.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { blockCommitLayer, commitJobId } from '../../../../src/drivers/qemu/qmp/block-commit.js';
import { diskNodeNames } from '../../../../src/drivers/qemu/qmp/disk-node-names.js';
import { isJsonObject } from '../../../../src/drivers/qemu/qmp/qmp-json.js';
import { destroyTestVm, guestWrite, startTestVm, type TestVm } from '../support/active-test-support.js';

const run = promisify(execFile);

async function nodeNames(vm: TestVm): Promise<string[]> {
  const nodes = await vm.proc.qmp.execute('query-named-block-nodes', { flat: true });
  return (Array.isArray(nodes) ? nodes : []).flatMap((n) => (isJsonObject(n) && typeof n['node-name'] === 'string' ? [n['node-name']] : []));
}

/**
 * vda onto a new overlay at `overlay`, as a live snapshot leaves it: the overlay attached
 * by blockdev-add (so the monitor holds its node, as the driver's does), then
 * blockdev-snapshot.
 */
async function snapshotWithQemu(vm: TestVm, overlay: string): Promise<{ overlayNode: string; baseNode: string }> {
  const baseNode = diskNodeNames('vda').format;
  const overlayNode = diskNodeNames('vda', 1).format;
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', vm.basePaths[0]!, '-F', 'qcow2', overlay]);
  await vm.proc.qmp.execute('blockdev-add', {
    driver: 'qcow2', 'node-name': overlayNode, file: { driver: 'file', filename: overlay }, backing: null,
  });
  await vm.proc.qmp.execute('blockdev-snapshot', { node: baseNode, overlay: overlayNode });
  return { overlayNode, baseNode };
}

test('an active commit QEMU finished before the merging process died: rerunning deletes the overlay node', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(1);
  const qmp = vm.proc.qmp;
  const base = vm.basePaths[0]!;
  const overlay = join(vm.dir, 'vda.ov1.qcow2');
  const { overlayNode, baseNode } = await snapshotWithQemu(vm, overlay);
  await guestWrite(qmp, 'vda', 0x5c);

  // What a killed merge leaves: the job ran to its end in QEMU (auto-dismissed), nothing more.
  const jobId = commitJobId('vda');
  const ready = qmp.waitForEvent((ev) => ev.event === 'BLOCK_JOB_READY' && ev.data.device === jobId, 60_000);
  const done = qmp.waitForEvent((ev) => ev.event === 'BLOCK_JOB_COMPLETED' && ev.data.device === jobId, 60_000);
  await qmp.execute('block-commit', { 'job-id': jobId, device: overlayNode, 'base-node': baseNode });
  await ready;
  await qmp.execute('block-job-complete', { device: jobId });
  await done;
  assert.ok((await nodeNames(vm)).includes(overlayNode), 'the finished job left the overlay node (the state a killed merge leaves)');

  const again = await blockCommitLayer(qmp, { target: 'vda', overlay, base });
  assert.equal(again.merged, false, 'nothing was left to merge');
  assert.ok(!(await nodeNames(vm)).includes(overlayNode), `the overlay node '${overlayNode}' is still attached after the rerun`);
});

test('an active commit still running when the merging process died: the rerun finishes it and deletes the overlay node, not the job filter', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(1);
  const qmp = vm.proc.qmp;
  const base = vm.basePaths[0]!;
  const overlay = join(vm.dir, 'vda.ov1.qcow2');
  const { overlayNode, baseNode } = await snapshotWithQemu(vm, overlay);
  await guestWrite(qmp, 'vda', 0x5d, 0, '4M');

  // What a killed merge leaves: the job started. An active commit waits in READY until
  // someone completes it, so its filter node is in the graph whenever the rerun looks.
  const jobId = commitJobId('vda');
  await qmp.execute('block-commit', { 'job-id': jobId, device: overlayNode, 'base-node': baseNode });
  const merging = blockCommitLayer(qmp, { target: 'vda', overlay, base });
  const result = await merging;
  assert.equal(result.merged, true);
  assert.ok(!(await nodeNames(vm)).includes(overlayNode), `the overlay node '${overlayNode}' is still attached after the rerun`);
});
