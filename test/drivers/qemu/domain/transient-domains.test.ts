/**
 * Transient domains on the QEMU driver (libvirt's semantics): create from XML, list
 * filters, clashes, vanishing when stopped (destroy, a QEMU that died) with the snapshot
 * metadata but not the files, undefine of a running domain, define making it persistent
 * again, and a create interrupted at every point leaving nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DomainState, ListDomainsFlags as F, RunningReason, SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { VirError, VirErrorCode, VirErrorDomain } from '../../../../src/api/errors.js';
import { isQemuRunningIn } from '../../../../src/drivers/qemu/domain/qemu-process.js';
import { runtimeDirFor } from '../../../../src/drivers/qemu/domain/active-runtime.js';
import { domainXml, makeImages } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { killAllQemu } from '../support/active-env.js';

process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../../../bin/snapvirt', import.meta.url));
const UUID = '7a1c0d3e-1111-4222-8333-944455556666';

function virErr(code: number, message: string) {
  return (e: unknown) => e instanceof VirError && e.code === code && e.message === message;
}

async function setup(t: { after(fn: () => Promise<void>): void }, name = 'tr'): Promise<{ env: QemuTestEnv; xml: string; disk: string }> {
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const disks = await makeImages(env.imageDir, name, ['qcow2'], 16 << 20);
  return { env, xml: domainXml(name, disks, UUID), disk: disks[0]!.path };
}

test('create: a running transient domain; listed by the filters; clashes as libvirt; destroy makes it vanish with its snapshot metadata', async (t) => {
  const { env, xml, disk } = await setup(t);
  const dom = await env.conn.domainCreateXML(xml);
  assert.equal(dom.getID(), 1);
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.BOOTED });
  assert.equal(await dom.isPersistent(), false);
  assert.equal((await dom.getExtraInfo()).persistent, false);
  const names = async (flags: number) => (await env.conn.listAllDomains(flags)).map((d) => d.getName());
  assert.deepEqual(await names(0), ['tr']);
  assert.deepEqual(await names(F.TRANSIENT), ['tr']);
  assert.deepEqual(await names(F.PERSISTENT), []);
  assert.deepEqual(await names(F.INACTIVE), []);
  // The same state files as a started persistent domain: dir 0700, socket and pidfile 0600.
  const rtDir = runtimeDirFor(env.stateDir, UUID);
  assert.equal((await stat(rtDir)).mode & 0o777, 0o700);
  assert.equal((await stat(join(rtDir, 'qmp.sock'))).mode & 0o777, 0o600);
  assert.equal((await stat(join(rtDir, 'qemu.pid'))).mode & 0o777, 0o600);
  // Its only definition is the live one; INACTIVE formats it without the id.
  assert.match(await dom.getXMLDesc(), /^<domain type='qemu' id='1'>/);
  assert.match(await dom.getXMLDesc(2), /^<domain type='qemu'>/);

  // virDomainObjListAdd's errors (VIR_FROM_DOMAIN), as libvirt's test driver gives them.
  await assert.rejects(env.conn.domainCreateXML(xml), (e: unknown) => e instanceof VirError
    && e.domain === VirErrorDomain.DOMAIN && e.message === "Requested operation is not valid: domain 'tr' is already active");
  await assert.rejects(env.conn.domainCreateXML(xml.replace('<name>tr</name>', '<name>other</name>')),
    virErr(VirErrorCode.OPERATION_FAILED, `operation failed: domain 'tr' is already defined with uuid ${UUID}`));
  await assert.rejects(env.conn.domainCreateXML(xml.replace(UUID, '7a1c0d3e-1111-4222-8333-000000000000')),
    virErr(VirErrorCode.OPERATION_FAILED, `operation failed: domain 'tr' already exists with uuid ${UUID}`));
  // qemu (unlike libvirt's test driver) refuses to undefine a transient domain.
  await assert.rejects(dom.undefine(), virErr(VirErrorCode.OPERATION_INVALID, 'Requested operation is not valid: cannot undefine transient domain'));
  assert.deepEqual(await names(0), ['tr'], 'the refused calls changed nothing');

  // A live disk-only snapshot: the overlay is snapvirt's, the transient definition follows it.
  await dom.snapshotCreateXML(`<domainsnapshot><name>s1</name><disks><disk name='vda' snapshot='external'/></disks></domainsnapshot>`, C.DISK_ONLY);
  assert.equal(await dom.snapshotNum(), 1);
  const overlay = disk.replace(/\.qcow2$/, '.s1');
  assert.match(await dom.getXMLDesc(2), new RegExp(`<source file='${overlay}'/>`));
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>s2</name></domainsnapshot>', C.DISK_ONLY | C.HALT),
    virErr(VirErrorCode.OPERATION_INVALID, 'Requested operation is not valid: cannot halt after transient domain snapshot'));

  // Another process (a new connection) sees the same running transient domain.
  const conn2 = await env.reopen();
  const again = await conn2.domainLookupByName('tr');
  assert.equal(again.getID(), 1);
  assert.equal(await again.isPersistent(), false);

  await again.destroy();
  await assert.rejects(conn2.domainLookupByName('tr'), virErr(VirErrorCode.NO_DOMAIN, "Domain not found: no domain with matching name 'tr'"));
  await assert.rejects(conn2.domainLookupByUUIDString(UUID), (e: unknown) => e instanceof VirError && e.code === VirErrorCode.NO_DOMAIN);
  assert.deepEqual(await conn2.listAllDomains(0), []);
  assert.equal(await isQemuRunningIn(rtDir), false);
  // libvirt leaves disk files alone: the snapshot's overlay and the image stay.
  await stat(overlay);
  await stat(disk);
  // The snapshot metadata went with the domain: the same UUID defined afresh has none.
  const fresh = await conn2.domainDefineXML(xml);
  assert.equal(await fresh.snapshotNum(), 0);
  assert.equal(await fresh.isPersistent(), true);
});

test('undefine of a running domain makes it transient (snapshots kept while it runs); define makes it persistent; a QEMU that died makes it vanish', async (t) => {
  const { env, xml } = await setup(t);
  const dom = await env.conn.domainDefineXML(xml);
  await dom.create();
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  // libvirt checks the snapshot count only for an inactive domain.
  await dom.undefine();
  assert.equal(await dom.isPersistent(), false);
  assert.equal(await dom.isActive(), true);
  assert.equal(await dom.snapshotNum(), 1);
  assert.deepEqual((await env.conn.listAllDomains(F.TRANSIENT | F.ACTIVE)).map((d) => d.getName()), ['tr']);

  // Defining a running transient domain's XML makes it persistent again; it runs on.
  await env.conn.domainDefineXML(xml);
  assert.equal(await dom.isPersistent(), true);
  assert.equal(await dom.isActive(), true);
  assert.deepEqual((await env.conn.listAllDomains(F.PERSISTENT)).map((d) => d.getName()), ['tr']);

  await dom.undefine(2 /* SNAPSHOTS_METADATA: nothing to do while it runs */);
  assert.equal(await dom.snapshotNum(), 1);
  const pid = Number((await readFile(join(runtimeDirFor(env.stateDir, UUID), 'qemu.pid'), 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 500 && await isQemuRunningIn(runtimeDirFor(env.stateDir, UUID)); i++) await new Promise((r) => setTimeout(r, 10));
  // A handle to it now finds nothing (libvirt forgets a transient domain whose QEMU died),
  // and cannot start it again or snapshot it…
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>s2</name></domainsnapshot>', C.DISK_ONLY),
    virErr(VirErrorCode.NO_DOMAIN, `Domain not found: no domain with matching uuid '${UUID}' (tr)`));
  await assert.rejects(dom.create(), virErr(VirErrorCode.NO_DOMAIN, `Domain not found: no domain with matching uuid '${UUID}' (tr)`));
  await assert.rejects(dom.isActive(), virErr(VirErrorCode.NO_DOMAIN, `Domain not found: no domain with matching uuid '${UUID}' (tr)`));
  // …and the next process neither, nor its snapshot metadata.
  const conn2 = await env.reopen();
  await assert.rejects(conn2.domainLookupByName('tr'), (e: unknown) => e instanceof VirError && e.code === VirErrorCode.NO_DOMAIN);
  assert.deepEqual(await conn2.listAllDomains(0), []);
  assert.equal(await (await conn2.domainDefineXML(xml)).snapshotNum(), 0);
});

test('create of a shut-off persistent domain\'s XML starts it with that definition; it stays persistent', async (t) => {
  const { env, xml } = await setup(t);
  const dom = await env.conn.domainDefineXML(xml);
  const started = await env.conn.domainCreateXML(xml.replace('<vcpu placement=\'static\'>1</vcpu>', '<vcpu placement=\'static\'>2</vcpu>'), 1 /* PAUSED */);
  assert.equal(started.getUUIDString(), UUID);
  assert.equal(await dom.isPersistent(), true);
  assert.equal((await dom.getState()).state, DomainState.PAUSED);
  assert.equal((await dom.getInfo()).nrVirtCpu, 2);
  assert.match(await dom.getXMLDesc(2), /<vcpu placement='static'>1<\/vcpu>/);
  await dom.destroy();
  assert.equal((await env.conn.domainLookupByName('tr')).getID(), -1, 'a persistent domain stays defined');
});

test('a create interrupted anywhere leaves no half domain: killed (recovery stops the QEMU) or failed (rolled back)', async (t) => {
  const { env, xml } = await setup(t);
  const file = join(env.tmp.path, 'tr.xml');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, xml);
  const rtDir = runtimeDirFor(env.stateDir, UUID);
  const cli = (failpoints: string) => run(process.execPath, [BIN, '-c', 'qemu:///session', 'create', file], {
    env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir, SNAPVIRT_FAILPOINTS: failpoints, SNAPVIRT_TESTING: '1' },
  }).then(() => 'ok', (e: { signal?: string; stderr?: string }) => e.signal ?? e.stderr ?? 'failed');

  // Killed after QEMU started but before the commit: a QEMU without a record is left…
  assert.equal(await cli('domain-create.prepare.step.after=crash'), 'SIGKILL');
  assert.equal(await isQemuRunningIn(rtDir), true);
  // …until the next open, whose recovery stops it.
  const conn = await env.reopen();
  assert.equal(await isQemuRunningIn(rtDir), false);
  assert.deepEqual(await conn.listAllDomains(0), []);

  // Failing at the commit rolls back in process.
  assert.match(await cli('domain-create.commit.before=error'), /failpoint domain-create\.commit\.before/);
  assert.equal(await isQemuRunningIn(rtDir), false);
  await env.reopen();
  assert.deepEqual(await env.conn.listAllDomains(0), []);

  // Killed after the commit: a complete running transient domain.
  assert.equal(await cli('domain-create.commit.after=crash'), 'SIGKILL');
  const after = await env.reopen();
  const dom = await after.domainLookupByName('tr');
  assert.equal(await dom.isActive(), true);
  assert.equal(await dom.isPersistent(), false);
});

test('two processes create the same name with different UUIDs at once: one domain, the other gets libvirt\'s error and leaves no QEMU', async (t) => {
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const { writeFile, readdir } = await import('node:fs/promises');
  const uuids = ['7a1c0d3e-1111-4222-8333-aaaaaaaaaaaa', '7a1c0d3e-1111-4222-8333-bbbbbbbbbbbb'];
  const files: string[] = [];
  for (const [i, uuid] of uuids.entries()) {
    const disks = await makeImages(env.imageDir, `race${i}`, ['qcow2'], 16 << 20);
    files.push(join(env.tmp.path, `race${i}.xml`));
    await writeFile(files[i]!, domainXml('race', disks, uuid));
  }
  const results = await Promise.all(files.map((f) => run(process.execPath, [BIN, '-c', 'qemu:///session', 'create', f], {
    env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir },
  }).then(() => 'ok', (e: { stderr?: string }) => e.stderr ?? 'failed')));
  assert.equal(results.filter((r) => r === 'ok').length, 1, results.join(' | '));
  const conn = await env.reopen();
  const winner = (await conn.domainLookupByName('race')).getUUIDString();
  const loser = results.find((r) => r !== 'ok')!;
  assert.match(loser, new RegExp(`error: operation failed: domain 'race' already exists with uuid ${winner}`));
  // The loser's QEMU, if it got as far as starting one, was stopped by its rollback.
  const running = [];
  for (const dir of await readdir(join(env.stateDir, 'run'))) if (await isQemuRunningIn(join(env.stateDir, 'run', dir))) running.push(dir);
  assert.deepEqual(running, [winner]);
});

test('autodestroy: destroyed when the creating connection closes, or by the next lookup once the creating process is gone', async (t) => {
  const { env, xml } = await setup(t);
  const { writeFile } = await import('node:fs/promises');
  const { connect } = await import('../../../../src/api/connection.js');
  const second = async () => {
    process.env.SNAPVIRT_STATE_DIR = env.stateDir;
    try {
      return await connect('qemu:///session');
    } finally {
      delete process.env.SNAPVIRT_STATE_DIR;
    }
  };
  const rtDir = runtimeDirFor(env.stateDir, UUID);
  const other = await second();
  t.after(() => other.close());

  // The library: another connection sees it until the owner closes.
  await env.conn.domainCreateXML(xml, 2 /* AUTODESTROY */);
  assert.equal(await (await other.domainLookupByName('tr')).isActive(), true);
  await env.conn.close();
  await assert.rejects(other.domainLookupByName('tr'), (e: unknown) => e instanceof VirError && e.code === VirErrorCode.NO_DOMAIN);
  assert.equal(await isQemuRunningIn(rtDir), false);

  // The command line disconnects when it exits, as virsh does: nothing is left.
  const file = join(env.tmp.path, 'tr.xml');
  await writeFile(file, xml);
  const cli = (failpoints = '') => run(process.execPath, [BIN, '-c', 'qemu:///session', 'create', '--autodestroy', file], {
    env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir, SNAPVIRT_FAILPOINTS: failpoints, SNAPVIRT_TESTING: '1' },
  }).then((r) => r.stdout, (e: { signal?: string }) => e.signal ?? 'failed');
  assert.equal(await cli(), `Domain 'tr' created from ${file}\n\n`);
  assert.deepEqual(await other.listAllDomains(0), []);
  assert.equal(await isQemuRunningIn(rtDir), false);

  // An owner killed after the commit cannot destroy it; the next lookup does.
  assert.equal(await cli('domain-create.commit.after=crash'), 'SIGKILL');
  assert.equal(await isQemuRunningIn(rtDir), true);
  assert.deepEqual(await other.listAllDomains(0), []);
  assert.equal(await isQemuRunningIn(rtDir), false);
});

test('the name and UUID of a transient domain whose QEMU died are free at once for a new create or define', async (t) => {
  const { env, xml } = await setup(t);
  const { openStore } = await import('../../../../src/store/index.js');
  const dom = await env.conn.domainCreateXML(xml);
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  const rtDir = runtimeDirFor(env.stateDir, UUID);
  process.kill(Number((await readFile(join(rtDir, 'qemu.pid'), 'utf8')).trim()), 'SIGKILL');
  for (let i = 0; i < 500 && await isQemuRunningIn(rtDir); i++) await new Promise((r) => setTimeout(r, 10));
  // No lookup in between: the create itself must notice the dead namesake.
  const OTHER = '7a1c0d3e-1111-4222-8333-cccccccccccc';
  const successor = await env.conn.domainCreateXML(xml.replace(UUID, OTHER).replace(/tr-0\.qcow2/g, 'tr-0.s1'));
  assert.equal(await successor.isActive(), true);
  const store = openStore(env.stateDir);
  try {
    assert.equal(store.domains.get(UUID), undefined);
    assert.deepEqual(store.snapshots.list(UUID), [], 'the dead domain\'s snapshot metadata went with it');
  } finally {
    store.close();
  }
  await successor.destroy();
  // Likewise for define, by UUID.
  const defined = await env.conn.domainDefineXML(xml);
  assert.equal(await defined.isPersistent(), true);
});
