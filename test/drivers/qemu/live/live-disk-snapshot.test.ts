import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createLiveDiskSnapshot, executeLiveDiskSnapshot, LiveDiskSnapshotError, planLiveDiskSnapshot,
} from '../../../../src/drivers/qemu/live/live-disk-snapshot.js';
import { readActiveChain } from '../../../../src/drivers/qemu/live/active-chain.js';
import { QmpError } from '../../../../src/drivers/qemu/live/qmp-errors.js';
import { isJsonObject } from '../../../../src/drivers/qemu/live/qmp-json.js';
import type { QmpClient } from '../../../../src/drivers/qemu/live/qmp-client.js';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import {
  destroyTestVm, guestWrite, imageHasPattern, imageInfo, isUnallocatedInTop, listDir, startTestVm, type TestVm,
} from './live-test-support.js';

const MiB = 1024 * 1024;

async function nodeNames(qmp: QmpClient): Promise<string[]> {
  const nodes = await qmp.execute('query-named-block-nodes', { flat: true });
  assert.ok(Array.isArray(nodes));
  return nodes.map((n) => (isJsonObject(n) ? String(n['node-name']) : '')).sort();
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

for (const count of [1, 2, 8]) {
  test(`live snapshot of ${count} disk(s): one transaction, old data in the base, new data in the overlay`, async (t) => {
    let vm: TestVm | undefined;
    t.after(() => destroyTestVm(vm));
    vm = await startTestVm(count);
    t.diagnostic(`spawn -> QMP ready: ${vm.proc.readyMs.toFixed(1)} ms (${count} disks)`);
    const { qmp } = vm.proc;
    const before = (i: number): number => 0x20 + i;
    const after = (i: number): number => 0x60 + i;
    for (const [i, target] of vm.targets.entries()) await guestWrite(qmp, target, before(i));

    const overlays = vm.targets.map((tgt) => join(vm!.dir, `${tgt}.snap1.qcow2`));
    const result = await createLiveDiskSnapshot(qmp,
      vm.targets.map((target, i) => ({ target, overlayPath: overlays[i]! })));
    const tm = result.timings;
    t.diagnostic(`${count} disks: create overlays ${tm.createOverlaysMs.toFixed(1)} ms, blockdev-add ${tm.blockdevAddMs.toFixed(1)} ms, `
      + `transaction ${tm.transactionMs.toFixed(1)} ms, verify ${tm.verifyMs.toFixed(1)} ms`);

    // What the driver records: per disk, the new node, overlay and the backing it replaced.
    assert.deepEqual(result.plan.disks.map((d) => [d.target, d.overlayNodes.format, d.baseNode, d.backingPath, d.backingFormat, d.generation]),
      vm.targets.map((tgt, i) => [tgt, `drive-${tgt}-g1-fmt`, `drive-${tgt}-fmt`, vm!.basePaths[i], 'qcow2', 1]));
    const chains = await readActiveChain(qmp);
    assert.deepEqual(chains, result.chains);
    assert.deepEqual(chains.map((c) => [c.target, c.nodeName, c.file, c.backingDepth, c.chain.map((l) => l.filename)]),
      vm.targets.map((tgt, i) => [tgt, `drive-${tgt}-g1-fmt`, overlays[i], 1, [overlays[i], vm!.basePaths[i]]]));

    for (const [i, target] of vm.targets.entries()) await guestWrite(qmp, target, after(i));
    // Flush so the overlay's qcow2 metadata is on disk before we read it offline.
    await vm.proc.stop();

    for (const [i, overlay] of overlays.entries()) {
      assert.equal((await stat(overlay)).mode & 0o777, 0o600, 'overlay is private');
      assert.deepEqual(await imageInfo(overlay), { format: 'qcow2', backingFilename: vm.basePaths[i], backingFormat: 'qcow2' },
        'the header holds the absolute base path and its format, so the chain reopens after a restart');
      assert.equal(await imageHasPattern(vm.basePaths[i]!, before(i)), true, `base ${i} keeps the data written before`);
      assert.equal(await imageHasPattern(overlay, after(i)), true, `overlay ${i} presents the data written after`);
      assert.equal(await imageHasPattern(vm.basePaths[i]!, after(i)), false, `base ${i} never saw the later write`);
      assert.equal(await isUnallocatedInTop(overlay, 0, '1M'), false, 'the later write was allocated in the overlay');
      assert.equal(await isUnallocatedInTop(overlay, MiB, '1M'), true, 'unwritten ranges fall through to the base');
    }
  });
}

test('a second snapshot stacks a new generation on the first; pauseGuest resumes the guest', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(2);
  const { qmp } = vm.proc;
  const s1 = vm.targets.map((tgt) => ({ target: tgt, overlayPath: join(vm!.dir, `${tgt}.s1.qcow2`) }));
  const s2 = vm.targets.map((tgt) => ({ target: tgt, overlayPath: join(vm!.dir, `${tgt}.s2.qcow2`) }));
  await createLiveDiskSnapshot(qmp, s1);
  await guestWrite(qmp, 'vda', 0x31);
  const stops: string[] = [];
  const off = qmp.onEvent((e) => stops.push(e.event));
  const second = await createLiveDiskSnapshot(qmp, s2, { pauseGuest: true });
  off();
  assert.deepEqual(stops, ['STOP', 'RESUME']);
  assert.deepEqual(await qmp.execute('query-status'), { status: 'running', singlestep: false, running: true });
  assert.deepEqual(second.plan.disks.map((d) => [d.overlayNodes.format, d.baseNode, d.backingPath]),
    [['drive-vda-g2-fmt', 'drive-vda-g1-fmt', s1[0]!.overlayPath], ['drive-vdb-g2-fmt', 'drive-vdb-g1-fmt', s1[1]!.overlayPath]]);
  assert.deepEqual((await readActiveChain(qmp)).map((c) => c.backingDepth), [2, 2]);
  await guestWrite(qmp, 'vda', 0x32);
  await vm.proc.stop();
  assert.equal(await imageHasPattern(s1[0]!.overlayPath, 0x31), true);
  assert.equal(await imageHasPattern(s2[0]!.overlayPath, 0x32), true);
  assert.deepEqual(await imageInfo(s2[1]!.overlayPath), { format: 'qcow2', backingFilename: s1[1]!.overlayPath, backingFormat: 'qcow2' });
});

/** Everything a failed snapshot must leave untouched. */
async function observe(vm: TestVm): Promise<unknown> {
  return {
    chains: await readActiveChain(vm.proc.qmp),
    nodes: await nodeNames(vm.proc.qmp),
    listing: await listDir(vm.dir),
    bases: await Promise.all(vm.basePaths.map(sha256)),
  };
}

test('failing last disk (its directory vanished after planning): nothing switched, nothing left', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(3);
  const { qmp } = vm.proc;
  const gone = join(vm.dir, 'gone');
  await mkdir(gone);
  const requests = vm.targets.map((target, i) => ({
    target, overlayPath: i === 2 ? join(gone, `${target}.snap.qcow2`) : join(vm!.dir, `${target}.snap.qcow2`),
  }));
  const plan = await planLiveDiskSnapshot(qmp, requests);
  await rmdir(gone);
  const state = await observe(vm);
  await assert.rejects(executeLiveDiskSnapshot(qmp, plan), (e: unknown) => {
    assert.ok(e instanceof LiveDiskSnapshotError);
    assert.equal(e.outcome, 'rolled-back');
    assert.deepEqual(e.cleanupErrors, []);
    assert.equal((e.cause as NodeJS.ErrnoException).code, 'ENOENT');
    return true;
  });
  assert.deepEqual(await observe(vm), state);
  // Still writable on the base: the disks never left it.
  await guestWrite(qmp, 'vdc', 0x44);
});

test('a transaction failing at its last action (injected abort): QEMU rolls back, we delete nodes and files', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(3);
  const { qmp } = vm.proc;
  const requests = vm.targets.map((target) => ({ target, overlayPath: join(vm!.dir, `${target}.snap.qcow2`) }));
  const state = await observe(vm);
  await assert.rejects(createLiveDiskSnapshot(qmp, requests, { extraActions: [{ type: 'abort', data: {} }] }), (e: unknown) => {
    assert.ok(e instanceof LiveDiskSnapshotError);
    assert.equal(e.outcome, 'rolled-back');
    assert.deepEqual(e.cleanupErrors, []);
    assert.ok(e.cause instanceof QmpError && e.cause.command === 'transaction' && e.cause.class === 'GenericError');
    assert.equal(e.toVirError().code, VirErrorCode.INTERNAL_ERROR);
    return true;
  });
  assert.deepEqual(await observe(vm), state);
  // The cleanup freed every name and path: the same snapshot now succeeds.
  const ok = await createLiveDiskSnapshot(qmp, requests);
  assert.deepEqual(ok.chains.map((c) => c.nodeName), ['drive-vda-g1-fmt', 'drive-vdb-g1-fmt', 'drive-vdc-g1-fmt']);
});

test('planning refuses bad requests before touching anything', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(2);
  const { qmp } = vm.proc;
  const existing = join(vm.dir, 'exists.qcow2');
  await writeFile(existing, 'x', { mode: 0o600 });
  const ov = (name: string): string => join(vm!.dir, name);
  const cases: Array<[string, Array<{ target: string; overlayPath: string }>, number]> = [
    ['no disks', [], VirErrorCode.OPERATION_INVALID],
    ['unknown disk', [{ target: 'vdz', overlayPath: ov('z') }], VirErrorCode.OPERATION_INVALID],
    ['disk twice', [{ target: 'vda', overlayPath: ov('a') }, { target: 'vda', overlayPath: ov('b') }], VirErrorCode.OPERATION_INVALID],
    ['same file twice', [{ target: 'vda', overlayPath: ov('a') }, { target: 'vdb', overlayPath: ov('a') }], VirErrorCode.OPERATION_INVALID],
    ['relative path', [{ target: 'vda', overlayPath: 'a.qcow2' }], VirErrorCode.CONFIG_UNSUPPORTED],
    ['existing file', [{ target: 'vda', overlayPath: existing }], VirErrorCode.OPERATION_INVALID],
    ['the base itself', [{ target: 'vda', overlayPath: vm.basePaths[0]! }], VirErrorCode.OPERATION_INVALID],
    ['missing directory', [{ target: 'vda', overlayPath: ov('nope/a.qcow2') }], VirErrorCode.OPERATION_INVALID],
  ];
  const listing = await listDir(vm.dir);
  for (const [what, requests, code] of cases) {
    await assert.rejects(planLiveDiskSnapshot(qmp, requests), (e: unknown) => e instanceof VirError && e.code === code, what);
  }
  assert.deepEqual(await listDir(vm.dir), listing);
  assert.deepEqual((await readActiveChain(qmp)).map((c) => c.backingDepth), [0, 0]);
});

test('a step hook failing before the switch rolls back attached nodes and files', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(2);
  const { qmp } = vm.proc;
  const requests = vm.targets.map((target) => ({ target, overlayPath: join(vm!.dir, `${target}.snap.qcow2`) }));
  const state = await observe(vm);
  const steps: string[] = [];
  let nodesWhileAttached: string[] = [];
  const failpoint = new Error('failpoint overlays-attached');
  await assert.rejects(createLiveDiskSnapshot(qmp, requests, {
    onStep: async (step) => {
      steps.push(step);
      if (step === 'overlays-attached') {
        nodesWhileAttached = await nodeNames(qmp);
        throw failpoint;
      }
    },
  }), (e: unknown) => e instanceof LiveDiskSnapshotError && e.outcome === 'rolled-back' && e.cause === failpoint);
  assert.deepEqual(steps, ['overlays-created', 'overlays-attached']);
  assert.ok(nodesWhileAttached.includes('drive-vdb-g1-fmt'), 'the overlays really were attached before the failure');
  assert.deepEqual(await observe(vm), state);
});

test('a hook failing after the switch reports outcome switched and leaves the disks on their overlays', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(2);
  const { qmp } = vm.proc;
  const requests = vm.targets.map((target) => ({ target, overlayPath: join(vm!.dir, `${target}.snap.qcow2`) }));
  await assert.rejects(createLiveDiskSnapshot(qmp, requests, {
    onStep: (step) => { if (step === 'switched') throw new Error('failpoint switched'); },
  }), (e: unknown) => e instanceof LiveDiskSnapshotError && e.outcome === 'switched');
  assert.deepEqual((await readActiveChain(qmp)).map((c) => c.nodeName), ['drive-vda-g1-fmt', 'drive-vdb-g1-fmt']);
});

test('QEMU not answering the transaction: outcome unknown, files kept, because QEMU may still switch', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => { if (vm) process.kill(vm.proc.pid, 'SIGCONT'); return destroyTestVm(vm); });
  vm = await startTestVm(2);
  const { qmp } = vm.proc;
  const requests = vm.targets.map((target) => ({ target, overlayPath: join(vm!.dir, `${target}.snap.qcow2`) }));
  const pid = vm.proc.pid;
  await assert.rejects(createLiveDiskSnapshot(qmp, requests, {
    timeoutMs: 300,
    // Freeze QEMU just before the switch: the transaction is sent but cannot be answered.
    onStep: (step) => { if (step === 'overlays-attached') process.kill(pid, 'SIGSTOP'); },
  }), (e: unknown) => e instanceof LiveDiskSnapshotError && e.outcome === 'unknown');
  for (const r of requests) assert.ok((await stat(r.overlayPath)).isFile(), 'overlay kept for recovery');
  process.kill(pid, 'SIGCONT');
  // Once running again QEMU executes the queued transaction: deleting the files would have lost the disks.
  assert.deepEqual((await readActiveChain(qmp)).map((c) => c.nodeName), ['drive-vda-g1-fmt', 'drive-vdb-g1-fmt']);
});
