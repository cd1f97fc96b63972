/**
 * reboot, reset, autostart and rename on the QEMU driver through the public API, with
 * libvirt 9.0's refusals and messages (measured against libvirtd 9.0), and autostart
 * once per host boot (the boot marker in the state directory).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { DomainState, ListDomainsFlags as F, RunningReason } from '../../../../src/api/flags.js';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { connect, Connection } from '../../../../src/api/connection.js';
import { runtimeOf } from '../../../../src/drivers/qemu/domain/active-runtime.js';
import { QemuDriver } from '../../../../src/drivers/qemu/qemu-driver.js';
import { makeRunningEnv } from '../support/active-env.js';
import { domainXml } from '../../../helpers/domain-fixture.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../../../bin/snapvirt', import.meta.url));

/** One `snapvirt -c qemu:///session COMMANDS` on `stateDir`: stdout, stderr and the exit status. */
function snapvirt(stateDir: string, commands: string): Promise<{ out: string; err: string; code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, '-c', 'qemu:///session', commands], { env: { ...process.env, SNAPVIRT_STATE_DIR: stateDir, LC_ALL: 'C' } },
      (error, out, err) => resolve({ out, err, code: error ? (typeof error.code === 'number' ? error.code : 1) : 0 }));
  });
}

function isVirError(code: number, message?: RegExp) {
  return (e: unknown) => e instanceof VirError && e.code === code && (message === undefined || message.test(e.message));
}

test('reset and reboot of a running domain; their refusals; a shut-off domain is not running', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  await assert.rejects(dom.reset(), isVirError(VirErrorCode.OPERATION_INVALID, /^Requested operation is not valid: domain is not running$/));
  await assert.rejects(dom.reboot(), isVirError(VirErrorCode.OPERATION_INVALID, /domain is not running$/));
  await dom.create();
  const pid = runtimeOf((env.conn.driver as QemuDriver).store, dom.getUUIDString())?.pid;

  await dom.reset();
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.BOOTED });
  await assert.rejects(dom.reset(1), isVirError(VirErrorCode.INVALID_ARG, /unsupported flags \(0x1\) in function qemuDomainReset$/));

  await assert.rejects(dom.reboot(4), isVirError(VirErrorCode.INVALID_ARG, /unsupported flags \(0x4\) in function qemuDomainReboot$/));
  await assert.rejects(dom.reboot(2), isVirError(VirErrorCode.ARGUMENT_UNSUPPORTED, /^argument unsupported: QEMU guest agent is not configured$/));
  // The ACPI reboot: asked, and marked so the power-off that follows is turned into a reset.
  await dom.reboot();
  const store = (env.conn.driver as QemuDriver).store;
  assert.equal(runtimeOf(store, dom.getUUIDString())?.fakeReboot, true);
  // A reset cancels it (the guest will not power off for it).
  await dom.reset();
  assert.equal(runtimeOf(store, dom.getUUIDString())?.fakeReboot, undefined);
  assert.equal(runtimeOf(store, dom.getUUIDString())?.pid, pid, 'the same QEMU ran on');
  await assert.rejects(dom.rename('other'), isVirError(VirErrorCode.OPERATION_INVALID, /cannot rename active domain$/));
  await dom.destroy();
});

test('rename: libvirt\'s refusals, then the snapshots and the definition go with the new name', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  await env.conn.domainDefineXML(domainXml('taken', []));
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>');
  await assert.rejects(dom.rename('vm'), isVirError(VirErrorCode.OPERATION_INVALID, /Can't rename domain to itself$/));
  await assert.rejects(dom.rename('taken'), isVirError(VirErrorCode.OPERATION_INVALID, /domain with name 'taken' already exists$/));
  await assert.rejects(dom.rename('a/b'), isVirError(VirErrorCode.XML_ERROR, /name a\/b cannot contain '\/'$/));
  await assert.rejects(dom.rename('x', 1), isVirError(VirErrorCode.INVALID_ARG, /in function qemuDomainRename$/));
  assert.equal(dom.getName(), 'vm', 'nothing changed by a refusal');

  await dom.rename('renamed');
  assert.equal(dom.getName(), 'renamed');
  const conn = await env.reopen();
  await assert.rejects(conn.domainLookupByName('vm'), isVirError(VirErrorCode.NO_DOMAIN));
  const again = await conn.domainLookupByName('renamed');
  assert.equal(again.getUUIDString(), dom.getUUIDString());
  assert.match(await again.getXMLDesc(), /<name>renamed<\/name>/);
  assert.deepEqual(await again.snapshotListNames(), ['s1']);
  // A transient domain cannot be renamed (libvirt's check comes after "active").
  await again.create();
  await again.undefine();
  await assert.rejects(again.rename('x'), isVirError(VirErrorCode.OPERATION_INVALID, /cannot rename active domain$/));
  await again.destroy();
});

test('autostart: set and read, transient refused, listed by the autostart filter, started once per host boot', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  assert.equal(await dom.getAutostart(), false);
  await dom.setAutostart(true);
  assert.equal(await dom.getAutostart(), true);
  assert.equal((await dom.getExtraInfo()).autostart, true);
  assert.deepEqual((await env.conn.listAllDomains(F.AUTOSTART)).map((d) => d.getName()), ['vm']);

  // Opening the connection again in the same boot starts nothing: the boot marker is there.
  const markers = (await readdir(env.stateDir)).filter((n) => n.startsWith('boot-'));
  assert.equal(markers.length, 1, 'one marker, for this boot');
  let conn = await env.reopen();
  assert.equal(await (await conn.domainLookupByName('vm')).isActive(), false);

  // "After a boot": the marker of this boot is gone (a stale one of an earlier boot is removed).
  await rm(`${env.stateDir}/${markers[0]}`);
  await (await import('node:fs/promises')).writeFile(`${env.stateDir}/boot-00000000-earlier-boot`, '');
  conn = await env.reopen();
  const started = await conn.domainLookupByName('vm');
  assert.equal(await started.isActive(), true, 'started by the first opening after the boot');
  assert.deepEqual((await readdir(env.stateDir)).filter((n) => n.startsWith('boot-')), markers);
  await started.destroy();
  conn = await env.reopen();
  assert.equal(await (await conn.domainLookupByName('vm')).isActive(), false, 'once per boot');

  const vm = await conn.domainLookupByName('vm');
  await vm.setAutostart(false);
  assert.equal(await vm.getAutostart(), false);
  await vm.create();
  await vm.undefine();
  await assert.rejects(vm.setAutostart(true), isVirError(VirErrorCode.OPERATION_INVALID, /cannot set autostart for transient domain$/));
  await vm.destroy();
});

test('the commands print what virsh prints against libvirtd 9.0, failures with its wrappers', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const state = r.env.stateDir;
  await r.env.conn.close();
  assert.deepEqual(await snapvirt(state, 'reboot vm'), {
    out: '\n', err: "error: Failed to reboot domain 'vm'\nerror: Requested operation is not valid: domain is not running\n", code: 1,
  });
  assert.deepEqual(await snapvirt(state, 'reset vm'), {
    out: '\n', err: "error: Failed to reset domain 'vm'\nerror: Requested operation is not valid: domain is not running\n", code: 1,
  });
  assert.deepEqual(await snapvirt(state, 'autostart vm; autostart vm --disable; dominfo vm'), {
    out: "Domain 'vm' marked as autostarted\n\nDomain 'vm' unmarked as autostarted\n\n"
      + (await snapvirt(state, 'dominfo vm')).out, err: '', code: 0,
  });
  assert.deepEqual(await snapvirt(state, 'domrename vm vm'), {
    out: '\n', err: "error: Requested operation is not valid: Can't rename domain to itself\n", code: 1,
  });
  assert.deepEqual(await snapvirt(state, 'domrename vm vm2; domstate vm2'), { out: 'Domain successfully renamed\n\nshut off\n\n', err: '', code: 0 });
  assert.equal((await snapvirt(state, 'start vm2; reboot vm2; reset vm2')).out,
    "Domain 'vm2' started\n\nDomain 'vm2' is being rebooted\n\nDomain 'vm2' was reset\n\n");
  // (libvirtd 9.0 prints virCheckFlags' text without "invalid argument: "; every flag check of snapvirt's QEMU driver keeps it.)
  assert.deepEqual(await snapvirt(state, 'reboot vm2 --mode initctl'), {
    out: '\n', err: "error: Failed to reboot domain 'vm2'\nerror: invalid argument: unsupported flags (0x4) in function qemuDomainReboot\n", code: 1,
  });
  assert.deepEqual(await snapvirt(state, 'domrename vm2 vm3'), {
    out: '\n', err: 'error: Requested operation is not valid: cannot rename active domain\n', code: 1,
  });
  assert.equal((await snapvirt(state, 'destroy vm2')).code, 0);
});

test('a driver without the lifecycle calls says so', async () => {
  // Every driver has them now: the test driver with its lifecycle part hidden stands for one that has not.
  const driver = (await connect('test:///default')).driver;
  const without = new Proxy(driver, {
    get(t, prop) {
      if (prop === 'lifecycle') return undefined;
      const value: unknown = Reflect.get(t, prop, t);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
  const conn = Connection.over(without, false);
  try {
    const dom = await conn.domainLookupByName('test');
    await assert.rejects(dom.reboot(), isVirError(VirErrorCode.NO_SUPPORT, /virDomainReboot$/));
  } finally {
    await conn.close();
  }
});
