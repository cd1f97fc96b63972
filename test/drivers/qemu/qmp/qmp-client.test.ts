import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  QmpDisconnectedError, QmpError, QmpJobError, QmpTimeoutError, qmpErrorToVirError,
} from '../../../../src/drivers/qemu/qmp/qmp-errors.js';
import { QmpClient, type QmpEvent } from '../../../../src/drivers/qemu/qmp/qmp-client.js';
import { isJsonObject } from '../../../../src/drivers/qemu/qmp/qmp-json.js';
import { VirErrorCode } from '../../../../src/api/errors.js';
import { destroyTestVm, startTestVm, type TestVm } from '../support/active-test-support.js';

function status(reply: unknown): { status: unknown; running: unknown } {
  assert.ok(isJsonObject(reply));
  return { status: reply.status, running: reply.running };
}

test('greeting, capabilities and plain commands', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(1, { paused: true });
  t.diagnostic(`spawn -> QMP ready: ${vm.proc.readyMs.toFixed(1)} ms (1 disk)`);
  const { qmp } = vm.proc;
  assert.ok(qmp.greeting.version.major >= 7, `QEMU ${JSON.stringify(qmp.greeting.version)}`);
  assert.ok(qmp.greeting.capabilities.includes('oob'));
  // -S: paused before the first instruction.
  assert.deepEqual(status(await qmp.execute('query-status')), { status: 'prelaunch', running: false });
  const resumed = qmp.waitForEvent((e) => e.event === 'RESUME', 10_000);
  assert.deepEqual(await qmp.execute('cont'), {});
  assert.equal((await resumed).event, 'RESUME');
  assert.deepEqual(status(await qmp.execute('query-status')), { status: 'running', running: true });
});

test('QEMU errors keep class and desc, and the connection stays usable', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(1);
  const { qmp } = vm.proc;
  await assert.rejects(qmp.execute('no-such-command'),
    (e: unknown) => e instanceof QmpError && e.class === 'CommandNotFound' && e.command === 'no-such-command' && e.desc.length > 0);
  await assert.rejects(qmp.execute('blockdev-del', { 'node-name': 'nope' }),
    (e: unknown) => e instanceof QmpError && e.class === 'GenericError');
  const vir = qmpErrorToVirError(new QmpError('transaction', 'GenericError', 'boom'));
  assert.equal(vir.code, VirErrorCode.INTERNAL_ERROR);
  assert.equal(vir.message, "internal error: unable to execute QEMU command 'transaction': boom");
  // Many commands in flight at once, one failing among them: each gets its own reply.
  const results = await Promise.allSettled([
    ...Array.from({ length: 20 }, () => qmp.execute('query-status')),
    qmp.execute('query-block', { bogus: true }),
    qmp.execute('query-name'),
  ]);
  for (const r of results.slice(0, 20)) assert.deepEqual(r.status === 'fulfilled' && status(r.value), { status: 'running', running: true });
  assert.equal(results[20]!.status, 'rejected');
  assert.deepEqual(results[21], { status: 'fulfilled', value: { name: 'live-test' } });
});

test('events reach iterators and waiters in order', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(1);
  const { qmp } = vm.proc;
  const seen: string[] = [];
  const off = qmp.onEvent((e) => seen.push(e.event));
  const iter = qmp.events();
  await qmp.execute('stop');
  await qmp.execute('cont');
  await qmp.execute('stop');
  const got: QmpEvent[] = [];
  for await (const ev of iter) {
    got.push(ev);
    if (got.length === 3) break;
  }
  assert.deepEqual(got.map((e) => e.event), ['STOP', 'RESUME', 'STOP']);
  assert.ok(got[0]!.timestamp.seconds > 0);
  off();
  assert.deepEqual(seen, ['STOP', 'RESUME', 'STOP']);
  await assert.rejects(qmp.waitForEvent((e) => e.event === 'NEVER', 50), QmpTimeoutError);
});

test('runJob: blockdev-create succeeds, and a failing job is a QmpJobError, dismissed either way', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(1);
  const { qmp } = vm.proc;
  const good = join(vm.dir, 'created.img');
  await qmp.runJob('blockdev-create', { 'job-id': 'mk-good', options: { driver: 'file', filename: good, size: 0 } });
  assert.ok(existsSync(good));
  const bad = join(vm.dir, 'missing-dir', 'x.img');
  await assert.rejects(
    qmp.runJob('blockdev-create', { 'job-id': 'mk-bad', options: { driver: 'file', filename: bad, size: 0 } }),
    (e: unknown) => e instanceof QmpJobError && e.jobId === 'mk-bad' && e.jobType === 'create');
  assert.deepEqual(await qmp.execute('query-jobs'), []);
  // A job-starting command QEMU refuses outright is a plain QmpError (no job exists).
  await assert.rejects(qmp.runJob('blockdev-create', { 'job-id': 'mk-bad2', options: { driver: 'nosuchdriver' } }), QmpError);
});

test('a command QEMU does not answer times out, and the client survives the late reply', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => { if (vm) process.kill(vm.proc.pid, 'SIGCONT'); return destroyTestVm(vm); });
  vm = await startTestVm(1);
  const { qmp } = vm.proc;
  process.kill(vm.proc.pid, 'SIGSTOP');
  await assert.rejects(qmp.execute('query-status', undefined, { timeoutMs: 200 }),
    (e: unknown) => e instanceof QmpTimeoutError && e.command === 'query-status');
  process.kill(vm.proc.pid, 'SIGCONT');
  assert.deepEqual(status(await qmp.execute('query-status')), { status: 'running', running: true });
});

test('killing QEMU rejects every pending command and waiter, and later commands at once', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(1);
  const { qmp } = vm.proc;
  let closedWith: string | undefined;
  qmp.onClose((reason) => { closedWith = reason; });
  // SIGSTOP first so QEMU cannot answer before the kill: the commands are surely pending.
  process.kill(vm.proc.pid, 'SIGSTOP');
  const pending = [qmp.execute('query-status'), qmp.execute('query-block'), qmp.execute('stop')];
  const waiter = qmp.waitForEvent(() => true, 60_000);
  const iter = qmp.events();
  const nextEvent = iter.next();
  vm.proc.kill();
  for (const p of pending) await assert.rejects(p, QmpDisconnectedError);
  await assert.rejects(waiter, QmpDisconnectedError);
  assert.deepEqual(await nextEvent, { value: undefined, done: true });
  assert.equal(qmp.isClosed, true);
  assert.equal(typeof closedWith, 'string');
  await assert.rejects(qmp.execute('query-status'), QmpDisconnectedError);
  assert.equal(await vm.proc.waitForExit(5000), true);
  assert.equal(await vm.proc.isAlive(), false);
  assert.equal(qmpErrorToVirError(new QmpDisconnectedError('x', 'gone')).code, VirErrorCode.OPERATION_FAILED);
});

test('close() ends the session cleanly; QEMU keeps running and accepts a new client', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(1);
  await vm.proc.qmp.close();
  assert.equal(vm.proc.qmp.isClosed, true);
  await assert.rejects(vm.proc.qmp.execute('query-status'), QmpDisconnectedError);
  assert.equal(await vm.proc.isAlive(), true);
  const again = await QmpClient.connect(vm.proc.paths.qmpSocket);
  try {
    assert.deepEqual(status(await again.execute('query-status')), { status: 'running', running: true });
  } finally {
    again.destroy();
  }
});
