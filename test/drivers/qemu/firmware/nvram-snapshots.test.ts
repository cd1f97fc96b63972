/**
 * The UEFI variable store on the QEMU command line (pflash block nodes as libvirt maps
 * them), undefine's --nvram/--keep-nvram rule, and the NVRAM inside offline snapshots:
 * internal and external, a create copies it, a revert writes it back byte for byte, a
 * delete removes the copy, and a revert that fails after its disks leaves the NVRAM as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DomainUndefineFlags as U, SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../src/api/flags.js';
import { killAllQemu } from '../support/active-env.js';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { parseDomainXML } from '../../../../src/conf/domain-xml.js';
import { buildQemuCommandLine } from '../../../../src/drivers/qemu/domain/qemu-command-line.js';
import { nvramCopyPath } from '../../../../src/drivers/qemu/firmware/nvram-snapshot.js';
import { prepareNvramFile } from '../../../../src/drivers/qemu/firmware/nvram-file.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { OVMF_CODE, OVMF_VARS, uefiDomainIn, uefiDomainXml } from '../support/uefi-domain.js';

const uefiXml = (disk: string, nvram: string): string => uefiDomainXml('uefi', disk, nvram);

test('pflash: the code read-only and the variable store writable, attached as pflash0/pflash1', async () => {
  const def = parseDomainXML(uefiXml('/tmp/d.qcow2', '/tmp/vm_VARS.fd'));
  const { args } = buildQemuCommandLine(def, { accel: 'tcg', qmpSocketPath: '/tmp/q', pidfilePath: '/tmp/p', skipDisks: true });
  const blockdevs = args.flatMap((a, i) => (args[i - 1] === '-blockdev' ? [JSON.parse(a) as Record<string, unknown>] : []));
  assert.deepEqual(blockdevs, [
    { driver: 'file', filename: OVMF_CODE, 'node-name': 'libvirt-pflash0-storage', 'auto-read-only': true, discard: 'unmap' },
    { 'node-name': 'libvirt-pflash0-format', 'read-only': true, driver: 'raw', file: 'libvirt-pflash0-storage' },
    { driver: 'file', filename: '/tmp/vm_VARS.fd', 'node-name': 'libvirt-pflash1-storage', 'auto-read-only': true, discard: 'unmap' },
    { 'node-name': 'libvirt-pflash1-format', 'read-only': false, driver: 'raw', file: 'libvirt-pflash1-storage' },
  ]);
  assert.match(args[args.indexOf('-machine') + 1]!, /,pflash0=libvirt-pflash0-format,pflash1=libvirt-pflash1-format$/);
  const secure = parseDomainXML(uefiXml('/tmp/d.qcow2', '/tmp/v').replace("type='pflash'", "type='pflash' secure='yes'"));
  assert.throws(() => buildQemuCommandLine(secure, { accel: 'tcg', qmpSocketPath: '/tmp/q', pidfilePath: '/tmp/p' }),
    (e: unknown) => e instanceof VirError && e.code === VirErrorCode.CONFIG_UNSUPPORTED && /secure='yes'/.test(e.message));
});

test('the variable store is created from its template, mode 0600', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const nvram = join(env.imageDir, 'nv', 'uefi_VARS.fd');
  prepareNvramFile(parseDomainXML(uefiXml('/tmp/d.qcow2', nvram)));
  assert.deepEqual(await readFile(nvram), await readFile(OVMF_VARS));
  assert.equal((await stat(nvram)).mode & 0o777, 0o600);
});

test('undefine: refused with an NVRAM file unless --nvram or --keep-nvram', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const { disk, nvram } = await uefiDomainIn(env.imageDir, 'uefi');
  let dom = await env.conn.domainDefineXML(uefiXml(disk, nvram));
  await dom.undefine(0); // no NVRAM file yet: nothing to refuse
  dom = await env.conn.domainDefineXML(uefiXml(disk, nvram));
  await copyFile(OVMF_VARS, nvram);
  await assert.rejects(dom.undefine(0), (e: unknown) => e instanceof VirError && e.code === VirErrorCode.OPERATION_INVALID
    && e.message === 'Requested operation is not valid: cannot undefine domain with nvram');
  assert.equal((await env.conn.listAllDomains()).length, 1);
  await dom.undefine(U.KEEP_NVRAM);
  assert.ok(existsSync(nvram));
  dom = await env.conn.domainDefineXML(uefiXml(disk, nvram));
  await dom.undefine(U.NVRAM);
  assert.equal(existsSync(nvram), false);
});

for (const kind of ['internal', 'external'] as const) {
  test(`offline ${kind} snapshot: the NVRAM is copied, restored byte for byte by revert, its copy removed by delete`, async (t) => {
    const env = await openQemuTestEnv();
    t.after(() => env.cleanup());
    const { disk, nvram } = await uefiDomainIn(env.imageDir, 'uefi');
    const dom = await env.conn.domainDefineXML(uefiXml(disk, nvram));
    await copyFile(OVMF_VARS, nvram);
    await writeFile(nvram, Buffer.alloc(512, 0xa1), { flag: 'r+' });
    const old = await readFile(nvram);
    const flags = kind === 'external' ? C.DISK_ONLY : 0;
    await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', flags);
    const copy = nvramCopyPath(env.stateDir, dom.getUUIDString(), 's1');
    assert.deepEqual(await readFile(copy), old);
    assert.equal((await stat(copy)).mode & 0o777, 0o600);

    await writeFile(nvram, Buffer.alloc(4096, 0x5c), { flag: 'r+' });
    const inode = (await stat(nvram)).ino;
    const s2 = await dom.snapshotCreateXML('<domainsnapshot><name>s2</name></domainsnapshot>', flags);
    await dom.revertToSnapshot(await dom.snapshotLookupByName('s1'), 0);
    assert.deepEqual(await readFile(nvram), old);
    // Written in place: a running QEMU holding the file open sees the restored bytes.
    assert.equal((await stat(nvram)).ino, inode);
    assert.equal(existsSync(`${copy}.undo`), false);

    await s2.delete(0);
    assert.equal(existsSync(nvramCopyPath(env.stateDir, dom.getUUIDString(), 's2')), false);
    assert.ok(existsSync(copy));
    await (await dom.snapshotLookupByName('s1')).delete(0);
    assert.equal(existsSync(copy), false);
  });
}

test('revert --reset-nvram: a QEMU the revert starts gets the template, not the snapshot\'s NVRAM; a revert that starts none keeps the copy', async (t) => {
  process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const { disk, nvram } = await uefiDomainIn(env.imageDir, 'uefi');
  const dom = await env.conn.domainDefineXML(uefiXml(disk, nvram));
  const template = await readFile(OVMF_VARS);
  // The snapshot's variable store: the template with its last bytes changed (never booted from).
  const marked = Buffer.from(template);
  marked.write('snapvirt-marked', marked.length - 16);
  await writeFile(nvram, marked);
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  const s1 = await dom.snapshotLookupByName('s1');
  // --paused: the new QEMU does not run the firmware, so the file stays as the revert left it.
  await dom.revertToSnapshot(s1, R.PAUSED | R.RESET_NVRAM);
  assert.deepEqual(await readFile(nvram), template);
  await dom.destroy();
  await dom.revertToSnapshot(s1, R.PAUSED);
  assert.deepEqual(await readFile(nvram), marked);
  await dom.destroy();
  await writeFile(nvram, template);
  await dom.revertToSnapshot(s1, R.RESET_NVRAM);
  assert.deepEqual(await readFile(nvram), marked, 'a revert that starts no QEMU restores the copy (libvirt resets only at a start)');
  assert.equal(await dom.isActive(), false);
});

test('a revert that fails after its disks leaves the NVRAM as it was', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => {
    delete process.env.SNAPVIRT_FAILPOINTS;
    delete process.env.SNAPVIRT_TESTING;
    return env.cleanup();
  });
  const { disk, nvram } = await uefiDomainIn(env.imageDir, 'uefi');
  const dom = await env.conn.domainDefineXML(uefiXml(disk, nvram));
  await copyFile(OVMF_VARS, nvram);
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', 0);
  await writeFile(nvram, Buffer.alloc(4096, 0x5c), { flag: 'r+' });
  const now = await readFile(nvram);
  process.env.SNAPVIRT_TESTING = '1';
  process.env.SNAPVIRT_FAILPOINTS = 'revert.commit.before=error';
  await assert.rejects(dom.revertToSnapshot(await dom.snapshotLookupByName('s1'), 0));
  delete process.env.SNAPVIRT_FAILPOINTS;
  assert.deepEqual(await readFile(nvram), now);
  assert.equal(existsSync(`${nvramCopyPath(env.stateDir, dom.getUUIDString(), 's1')}.undo`), false);
});

test('undefine drops the snapshots\' NVRAM copies with their metadata; a stale copy never blocks a new snapshot', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const { xml, nvram } = await uefiDomainIn(env.imageDir, 'uefi');
  let dom = await env.conn.domainDefineXML(xml);
  const uuid = dom.getUUIDString();
  await copyFile(OVMF_VARS, nvram);
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', 0);
  const copy = nvramCopyPath(env.stateDir, uuid, 's1');
  assert.ok(existsSync(copy));
  await dom.undefine(U.SNAPSHOTS_METADATA | U.KEEP_NVRAM);
  assert.equal(existsSync(join(env.stateDir, 'firmware', uuid)), false);
  assert.ok(existsSync(nvram));

  // A copy left by metadata that went without it (a transient domain that vanished, a crash
  // after an undefine's commit) is stale: a snapshot of the same name replaces it.
  await uefiDomainIn(env.imageDir, 'uefi'); // a fresh disk, without the tag s1
  dom = await env.conn.domainDefineXML(xml.replace('<name>uefi</name>', `<name>uefi</name><uuid>${uuid}</uuid>`));
  await mkdir(dirname(copy), { recursive: true });
  await writeFile(copy, 'stale');
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', 0);
  assert.deepEqual(await readFile(copy), await readFile(nvram));
});
