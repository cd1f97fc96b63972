/** Running domains on the QEMU driver: lifecycle, state reasons, ids, monitor passthrough, a QEMU that dies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DomainState, ListDomainsFlags as F, PausedReason, RunningReason, ShutoffReason } from '../../../../src/api/flags.js';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { runtimeDirFor } from '../../../../src/drivers/qemu/domain/active-runtime.js';
import { QmpClient } from '../../../../src/drivers/qemu/qmp/qmp-client.js';
import { makeRunningEnv, queryBlock } from '../support/active-env.js';
import { waitImagesUnlocked } from '../support/active-test-support.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../../../bin/snapvirt', import.meta.url));

function isVirError(code: number, message?: RegExp) {
  return (e: unknown) => e instanceof VirError && e.code === code && (message === undefined || message.test(e.message));
}

test('start, state reasons, suspend/resume, XML with id, monitor passthrough, destroy', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  assert.equal(await dom.isActive(), false);
  await dom.create();
  assert.equal(dom.getID(), 1);
  assert.equal(await dom.isActive(), true);
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.BOOTED });
  const info = await dom.getInfo();
  assert.equal(info.state, DomainState.RUNNING);
  assert.equal(info.nrVirtCpu, 1);
  assert.match(await dom.getXMLDesc(), /^<domain type='qemu' id='1'>/);
  assert.doesNotMatch(await dom.getXMLDesc(2 /* INACTIVE */), /id='1'/);
  assert.deepEqual((await env.conn.listAllDomains(F.ACTIVE)).map((d) => [d.getName(), d.getID()]), [['vm', 1]]);
  assert.deepEqual(await env.conn.listAllDomains(F.INACTIVE), []);
  assert.equal((await env.conn.domainLookupByID(1)).getName(), 'vm');
  await assert.rejects(env.conn.domainLookupByID(2), isVirError(VirErrorCode.NO_DOMAIN));

  // The runtime directory is private: dir 0700, socket and pidfile 0600.
  const rtDir = runtimeDirFor(env.stateDir, dom.getUUIDString());
  assert.equal((await stat(rtDir)).mode & 0o777, 0o700);
  assert.equal((await stat(join(rtDir, 'qmp.sock'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(rtDir, 'qemu.pid'))).mode & 0o777, 0o600);

  await assert.rejects(dom.create(), isVirError(VirErrorCode.OPERATION_INVALID, /domain is already running/));

  await dom.suspend();
  assert.deepEqual(await dom.getState(), { state: DomainState.PAUSED, reason: PausedReason.USER });
  const status = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-status"}')) as { return: { status: string } };
  assert.equal(status.return.status, 'paused');
  await dom.resume();
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.UNPAUSED });

  // QMP errors come back as the reply text, as libvirt passes them through.
  const err = JSON.parse(await dom.qemuMonitorCommand('{"execute":"no-such-command"}')) as { error: { class: string }; id: string };
  assert.equal(err.error.class, 'CommandNotFound');
  // The id the command was given (libvirt's own); one that brings its own is refused as libvirt does.
  assert.match(err.id, /^snapvirt-[0-9]+$/);
  await assert.rejects(dom.qemuMonitorCommand('{"execute":"query-status","id":"x1"}'),
    isVirError(VirErrorCode.INTERNAL_ERROR, /^internal error: Unable to append command 'id' string$/));
  assert.match(await dom.qemuMonitorCommand('info block', 1), /drive-vda-fmt: .*vm-0\.qcow2 \(qcow2\)/);
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.target, b.node]), [['vda', 'drive-vda-fmt']]);

  // While another client holds the monitor (QEMU serves one at a time), the state comes from the record.
  const holder = await QmpClient.connect(join(rtDir, 'qmp.sock'));
  try {
    assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.UNPAUSED });
  } finally {
    await holder.close();
  }

  // shutdown only asks (ACPI power button); with no guest OS nothing powers off.
  await dom.shutdown();
  assert.equal((await dom.getState()).state, DomainState.RUNNING);

  // A new connection (as the next CLI command) finds the same running QEMU.
  const conn2 = await env.reopen();
  const again = await conn2.domainLookupByName('vm');
  assert.equal(again.getID(), 1);
  assert.equal((await again.getState()).state, DomainState.RUNNING);

  await again.destroy();
  assert.deepEqual(await again.getState(), { state: DomainState.SHUTOFF, reason: ShutoffReason.DESTROYED });
  assert.equal(await again.isActive(), false);
  await assert.rejects(stat(join(rtDir, 'qmp.sock')), /ENOENT/);
  await assert.rejects(again.destroy(), isVirError(VirErrorCode.OPERATION_INVALID, /domain is not running/));
  await assert.rejects(again.suspend(), isVirError(VirErrorCode.OPERATION_INVALID, /domain is not running/));
  await assert.rejects(again.qemuMonitorCommand('{"execute":"query-status"}'), isVirError(VirErrorCode.OPERATION_INVALID));

  await again.create(1 /* PAUSED */);
  assert.deepEqual(await again.getState(), { state: DomainState.PAUSED, reason: PausedReason.USER });
});

test('a QEMU that died is noticed and the domain marked shut off (crashed)', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  await r.dom.create();
  const pid = Number((await readFile(join(runtimeDirFor(r.env.stateDir, r.dom.getUUIDString()), 'qemu.pid'), 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  // Reaped by the kernel/our parent shortly; the liveness check treats a zombie as dead.
  for (let i = 0; i < 500 && await r.dom.isActive(); i++) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(await r.dom.getState(), { state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED });
  assert.deepEqual((await r.env.conn.listAllDomains(F.ACTIVE)).length, 0);
  assert.equal((await r.env.conn.domainLookupByName('vm')).getID(), -1);
  // It can be started again.
  await waitImagesUnlocked(r.disks.map((d) => d.path));
  await r.dom.create();
  assert.equal((await r.dom.getState()).state, DomainState.RUNNING);
});

test('a QEMU gone while another process holds the domain (a destroy that just killed it) is not marked crashed by an onlooker', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  await r.dom.create();
  const uuid = r.dom.getUUIDString();
  // Another process takes the domain's lock, as a destroy does before it kills the QEMU.
  const txn = fileURLToPath(new URL('../../../../src/txn/index.js', import.meta.url));
  const holder = spawn(process.execPath, ['--input-type=module', '-e',
    `const { tryAcquireDomainLock } = await import(${JSON.stringify(txn)}); ` +
    `const lock = tryAcquireDomainLock(${JSON.stringify(join(r.env.stateDir, 'locks'))}, ${JSON.stringify(uuid)}, 'destroy'); ` +
    "console.log(lock ? 'locked' : 'busy'); setInterval(() => {}, 1000);"], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => { holder.kill('SIGKILL'); });
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  const pid = Number((await readFile(join(runtimeDirFor(r.env.stateDir, uuid), 'qemu.pid'), 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 500 && await isAlive(pid); i++) await new Promise((res) => setTimeout(res, 10));
  // The onlooker sees it shut off, but the holder records why: not "crashed".
  const seen = await r.dom.getState();
  assert.equal(seen.state, DomainState.SHUTOFF);
  assert.notEqual(seen.reason, ShutoffReason.CRASHED);
  // Once the holder is gone without recording anything, the QEMU did crash.
  holder.kill('SIGKILL');
  await new Promise((res) => holder.once('exit', res));
  assert.deepEqual(await r.dom.getState(), { state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED });
});

async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

test('the CLI starts a QEMU that outlives it; later CLI calls reconnect', async (t) => {
  const r = await makeRunningEnv(1, 'clivm');
  t.after(() => r.cleanup());
  const env = { ...process.env, SNAPVIRT_STATE_DIR: r.env.stateDir };
  // The snapvirt command line (not virsh) on the test's qemu:///session state.
  const snapvirt = (...args: string[]) => run(process.execPath, [BIN, '-c', 'qemu:///session', ...args], { env });
  assert.match((await snapvirt('start', 'clivm')).stdout, /Domain 'clivm' started/);
  assert.equal((await snapvirt('domstate', '--reason', 'clivm')).stdout.trim(), 'running (booted)');
  // A running domain is found by its id, as virsh does for a numeric argument.
  assert.equal((await snapvirt('domstate', '1')).stdout.trim(), 'running');
  await snapvirt('suspend', 'clivm');
  assert.equal((await snapvirt('domstate', '--reason', 'clivm')).stdout.trim(), 'paused (user)');
  const pretty = (await snapvirt('qemu-monitor-command', 'clivm', '--pretty', 'query-status')).stdout;
  assert.equal((JSON.parse(pretty) as { return: { status: string } }).return.status, 'paused');
  assert.match((await snapvirt('qemu-monitor-command', 'clivm', '--hmp', 'info', 'status')).stdout, /VM status: paused/);
  assert.match((await snapvirt('list')).stdout, /^ 1 +clivm +paused$/m);
  await snapvirt('destroy', 'clivm');
  assert.match((await snapvirt('list', '--all')).stdout, /^ - +clivm +shut off$/m);
  // The reason survives the process that set it.
  assert.equal((await snapvirt('domstate', '--reason', 'clivm')).stdout.trim(), 'shut off (destroyed)');
});
