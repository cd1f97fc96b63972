import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QemuProcess } from '../../../../src/drivers/qemu/domain/qemu-process.js';
import { readActiveChain } from '../../../../src/drivers/qemu/qmp/active-chain.js';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { createQcow2, destroyTestVm, diskDef, domainDef, makeTempDir, removeTempDir, startTestVm, waitImagesUnlocked, type TestVm } from '../support/active-test-support.js';

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

test('start: private runtime dir, 0600 socket and pidfile, the disks attached under stable names', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(2);
  const { proc } = vm;
  t.diagnostic(`spawn -> QMP ready: ${proc.readyMs.toFixed(1)} ms (2 disks)`);
  assert.equal(await proc.isAlive(), true);
  assert.equal(await mode(proc.paths.dir), 0o700);
  assert.equal(await mode(proc.paths.qmpSocket), 0o600);
  assert.equal(await mode(proc.paths.eventsSocket), 0o600, 'the second monitor, in the same private directory');
  assert.equal(await mode(proc.paths.pidfile), 0o600);
  assert.equal(await mode(proc.paths.logFile), 0o600);
  assert.equal(Number((await readFile(proc.paths.pidfile, 'utf8')).trim()), proc.pid);
  const chains = await readActiveChain(proc.qmp);
  assert.deepEqual(chains.map((c) => [c.target, c.nodeName, c.file, c.format, c.backingDepth, c.readOnly]), [
    ['vda', 'drive-vda-fmt', vm.basePaths[0], 'qcow2', 0, false],
    ['vdb', 'drive-vdb-fmt', vm.basePaths[1], 'qcow2', 0, false],
  ]);
  assert.deepEqual(proc.disks?.map((d) => d.qdev), chains.map((c) => c.qdev));
});

test('a second start on the same runtime dir is refused; attach reconnects to the same QEMU', async (t) => {
  let vm: TestVm | undefined;
  let attached: QemuProcess | undefined;
  t.after(async () => { attached?.qmp.destroy(); await destroyTestVm(vm); });
  vm = await startTestVm(1);
  await assert.rejects(
    QemuProcess.start({ def: domainDef([diskDef('vda', vm.basePaths[0])]), runtimeDir: vm.proc.paths.dir, accel: 'tcg' }),
    (e: unknown) => e instanceof VirError && e.code === VirErrorCode.OPERATION_INVALID);
  // The monitor serves one client at a time: the first must let go before a reattach.
  vm.proc.qmp.destroy();
  attached = await QemuProcess.attach(vm.proc.paths.dir);
  assert.equal(attached.pid, vm.proc.pid);
  assert.equal((await readActiveChain(attached.qmp))[0]?.nodeName, 'drive-vda-fmt');
  t.diagnostic(`attach -> QMP ready: ${attached.readyMs.toFixed(1)} ms`);
  await attached.stop();
  assert.equal(await vm.proc.isAlive(), false);
});

test('stop: quit ends the process and removes socket and pidfile', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(1);
  await vm.proc.stop();
  assert.equal(await vm.proc.isAlive(), false);
  assert.equal(existsSync(vm.proc.paths.qmpSocket), false);
  assert.equal(existsSync(vm.proc.paths.eventsSocket), false);
  assert.equal(existsSync(vm.proc.paths.pidfile), false);
  await assert.rejects(QemuProcess.attach(vm.proc.paths.dir),
    (e: unknown) => e instanceof VirError && e.code === VirErrorCode.OPERATION_INVALID);
});

test('stop falls back to SIGKILL when QEMU does not answer quit', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(1);
  process.kill(vm.proc.pid, 'SIGSTOP');
  await vm.proc.stop({ graceMs: 300 });
  assert.equal(await vm.proc.isAlive(), false);
});

test('a killed QEMU is noticed: dead process, closed monitor, no reattach; restart works', async (t) => {
  let vm: TestVm | undefined;
  let second: QemuProcess | undefined;
  t.after(async () => { second?.kill(); await second?.waitForExit(5000); second?.qmp.destroy(); await destroyTestVm(vm); });
  vm = await startTestVm(1);
  const closed = new Promise<string>((resolve) => vm!.proc.qmp.onClose(resolve));
  vm.proc.kill();
  assert.equal(typeof await closed, 'string');
  assert.equal(await vm.proc.waitForExit(5000), true);
  assert.equal(await vm.proc.isAlive(), false);
  await assert.rejects(QemuProcess.attach(vm.proc.paths.dir),
    (e: unknown) => e instanceof VirError && e.code === VirErrorCode.OPERATION_INVALID);
  // The stale pidfile and socket do not block a new start in the same runtime dir.
  await waitImagesUnlocked(vm.basePaths);
  second = await QemuProcess.start({ def: domainDef([diskDef('vda', vm.basePaths[0])]), runtimeDir: vm.proc.paths.dir, accel: 'tcg' });
  assert.notEqual(second.pid, vm.proc.pid);
  assert.equal(await second.isAlive(), true);
});

test('a QEMU that fails to start reports its own error text', async (t) => {
  const dir = await makeTempDir();
  t.after(() => removeTempDir(dir));
  const missing = join(dir, 'missing.qcow2');
  await createQcow2(join(dir, 'present.qcow2'));
  await assert.rejects(
    QemuProcess.start({ def: domainDef([diskDef('vda', missing)]), runtimeDir: join(dir, 'run'), accel: 'tcg' }),
    (e: unknown) => e instanceof VirError && e.code === VirErrorCode.INTERNAL_ERROR
      && e.message.startsWith('internal error: process exited while connecting to monitor: ') && e.message.includes(missing));
});
