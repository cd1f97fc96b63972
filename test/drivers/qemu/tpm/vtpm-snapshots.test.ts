/**
 * The vTPM's state inside snapshots: an offline create (internal and external) copies
 * swtpm's permanent state (manufacturing it first for a domain never started), a revert
 * writes it back byte for byte and the domain starts on it, a delete removes the copy; a
 * running domain's snapshots (with memory, disk-only, a group's) copy the state swtpm keeps
 * on disk, a revert in place is done, and one through a new QEMU is refused, nothing changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainUndefineFlags as U, SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../src/api/flags.js';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { parseDomainXML } from '../../../../src/conf/domain-xml.js';
import { manufactureTpmState, TPM2_STATE_FILE, tpmStateDirFor } from '../../../../src/drivers/qemu/tpm/swtpm-process.js';
import { tpmCopyPath } from '../../../../src/drivers/qemu/tpm/tpm-snapshot.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { emulatorTpm, tpmDomainXml, tpmTestDisk } from '../support/tpm-domain.js';
import { killAllQemu } from '../support/active-env.js';

const snapXml = (name: string): string => `<domainsnapshot><name>${name}</name></domainsnapshot>`;

for (const kind of ['internal', 'external'] as const) {
  test(`offline ${kind} snapshot: the TPM state is copied, restored byte for byte by revert, its copy removed by delete`, async (t) => {
    const env = await openQemuTestEnv();
    t.after(() => env.cleanup());
    const disk = await tpmTestDisk(env.imageDir, 'd');
    const xml = tpmDomainXml('vtpm', disk, emulatorTpm('tpm-crb'), 'q35');
    const dom = await env.conn.domainDefineXML(xml);
    const uuid = dom.getUUIDString();
    const state = join(tpmStateDirFor(env.stateDir, uuid), TPM2_STATE_FILE);
    const flags = kind === 'external' ? C.DISK_ONLY : 0;
    // Never started: the snapshot manufactures the TPM as the first start would.
    await dom.snapshotCreateXML(snapXml('s1'), flags);
    const old = await readFile(state);
    const copy = tpmCopyPath(env.stateDir, uuid, 's1');
    assert.deepEqual(await readFile(copy), old);
    assert.equal((await stat(copy)).mode & 0o777, 0o600);

    // Another TPM's state (another EK) stands for a TPM changed since.
    const other = await mkdtemp(join(env.tmp.path, 'other-tpm-'));
    await writeFile(state, await readFile(await manufactureTpmState(parseDomainXML(xml), other)));
    await rm(other, { recursive: true });
    assert.notDeepEqual(await readFile(state), old);
    const s2 = await dom.snapshotCreateXML(snapXml('s2'), flags);
    const inode = (await stat(state)).ino;
    await dom.revertToSnapshot(await dom.snapshotLookupByName('s1'), 0);
    assert.deepEqual(await readFile(state), old);
    assert.equal((await stat(state)).ino, inode);
    assert.equal(existsSync(`${copy}.undo`), false);
    // swtpm takes the restored state.
    await dom.create();
    await dom.destroy();

    await s2.delete(0);
    assert.equal(existsSync(tpmCopyPath(env.stateDir, uuid, 's2')), false);
    assert.ok(existsSync(copy));
    await (await dom.snapshotLookupByName('s1')).delete(0);
    assert.equal(existsSync(copy), false);
  });
}

test('a revert that fails after its disks leaves the TPM state as it was', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => {
    delete process.env.SNAPVIRT_FAILPOINTS;
    delete process.env.SNAPVIRT_TESTING;
    return env.cleanup();
  });
  const disk = await tpmTestDisk(env.imageDir, 'd');
  const dom = await env.conn.domainDefineXML(tpmDomainXml('vtpm', disk, emulatorTpm('tpm-tis')));
  await dom.snapshotCreateXML(snapXml('s1'), 0);
  const state = join(tpmStateDirFor(env.stateDir, dom.getUUIDString()), TPM2_STATE_FILE);
  await writeFile(state, Buffer.alloc(64, 0x5c), { flag: 'r+' });
  const now = await readFile(state);
  process.env.SNAPVIRT_TESTING = '1';
  process.env.SNAPVIRT_FAILPOINTS = 'revert.commit.before=error';
  await assert.rejects(dom.revertToSnapshot(await dom.snapshotLookupByName('s1'), 0));
  delete process.env.SNAPVIRT_FAILPOINTS;
  assert.deepEqual(await readFile(state), now);
});

test('a running domain with a vTPM: live snapshots copy the TPM state; a revert in place is done, one through a new QEMU refused', async (t) => {
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const disk = await tpmTestDisk(env.imageDir, 'd');
  const dom = await env.conn.domainDefineXML(tpmDomainXml('vtpm', disk, emulatorTpm('tpm-crb'), 'q35'));
  const uuid = dom.getUUIDString();
  const state = join(tpmStateDirFor(env.stateDir, uuid), TPM2_STATE_FILE);
  await dom.snapshotCreateXML(snapXml('off'), 0);
  await dom.create();
  // With memory: the machine state holds the TPM's state; the copy is the permanent state as swtpm keeps it.
  await dom.snapshotCreateXML(snapXml('mem'), 0);
  assert.deepEqual(await readFile(tpmCopyPath(env.stateDir, uuid, 'mem')), await readFile(state));
  // Loaded into the running QEMU: QEMU gives swtpm the saved state back.
  await dom.revertToSnapshot(await dom.snapshotLookupByName('mem'), 0);
  assert.ok(await dom.isActive());
  await dom.snapshotCreateXML(snapXml('live'), C.DISK_ONLY);
  assert.deepEqual(await readFile(tpmCopyPath(env.stateDir, uuid, 'live')), await readFile(state));
  // A new QEMU beside the old one: the old swtpm holds the state directory.
  const before = await readFile(state);
  await assert.rejects(dom.revertToSnapshot(await dom.snapshotLookupByName('off'), 0), (e: unknown) => e instanceof VirError
    && e.code === VirErrorCode.CONFIG_UNSUPPORTED && e.message === 'unsupported configuration: a snapshot revert of a running domain ' +
    'with a vTPM through a new QEMU is not supported by snapvirt (its running swtpm holds the TPM state); shut the domain off first');
  assert.deepEqual(await readFile(state), before);
  assert.deepEqual((await dom.snapshotListNames()).sort(), ['live', 'mem', 'off']);
  assert.ok(await dom.isActive());
});

test('a group snapshot with a running member with a vTPM copies every member\'s TPM state; a group revert of it running is refused', async (t) => {
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const doms = [];
  for (const name of ['t0', 't1']) {
    doms.push(await env.conn.domainDefineXML(tpmDomainXml(name, await tpmTestDisk(env.imageDir, name), emulatorTpm('tpm-tis'))));
  }
  await doms[0]!.create();
  await env.conn.groupSnapshotCreateXML(doms, '<groupsnapshot><name>g</name></groupsnapshot>', C.DISK_ONLY);
  for (const d of doms) {
    const uuid = d.getUUIDString();
    assert.deepEqual(await readFile(tpmCopyPath(env.stateDir, uuid, 'g')), await readFile(join(tpmStateDirFor(env.stateDir, uuid), TPM2_STATE_FILE)), d.getName());
  }
  await assert.rejects((await env.conn.groupSnapshotLookupByName('g')).revert(0),
    (e: unknown) => e instanceof VirError && e.code === VirErrorCode.CONFIG_UNSUPPORTED && /through a new QEMU/.test(e.message));
  assert.ok(await doms[0]!.isActive());
});

test('undefine: the TPM state removed as libvirt does unless --keep-tpm (--tpm removes it too); the snapshots\' copies always go', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  for (const [flags, kept] of [[0, false], [U.TPM, false], [U.KEEP_TPM, true]] as const) {
    // A disk each: the internal snapshot's tag stays in its image after a metadata-only undefine.
    const disk = await tpmTestDisk(env.imageDir, `d${flags}`);
    const dom = await env.conn.domainDefineXML(tpmDomainXml('vtpm', disk, emulatorTpm('tpm-tis')));
    const uuid = dom.getUUIDString();
    await dom.snapshotCreateXML(snapXml('s1'), 0);
    const state = join(tpmStateDirFor(env.stateDir, uuid), TPM2_STATE_FILE);
    const before = await readFile(state);
    await dom.undefine(flags | U.SNAPSHOTS_METADATA);
    assert.equal(existsSync(tpmCopyPath(env.stateDir, uuid, 's1')), false);
    assert.equal(existsSync(state), kept, `flags ${flags}`);
    if (kept) {
      assert.deepEqual(await readFile(state), before);
      await rm(tpmStateDirFor(env.stateDir, uuid), { recursive: true });
    }
  }
});

test('revert --running of a shut-off domain with a vTPM: the TPM state restored before swtpm starts on it', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disk = await tpmTestDisk(env.imageDir, 'd');
  const xml = tpmDomainXml('vtpm', disk, emulatorTpm('tpm-crb'), 'q35');
  const dom = await env.conn.domainDefineXML(xml);
  await dom.snapshotCreateXML(snapXml('s1'), C.DISK_ONLY);
  const state = join(tpmStateDirFor(env.stateDir, dom.getUUIDString()), TPM2_STATE_FILE);
  const old = await readFile(state);
  const other = await mkdtemp(join(env.tmp.path, 'other-tpm-'));
  await writeFile(state, await readFile(await manufactureTpmState(parseDomainXML(xml), other)));
  await dom.revertToSnapshot(await dom.snapshotLookupByName('s1'), R.RUNNING);
  t.after(() => dom.destroy().catch(() => undefined));
  assert.ok(await dom.isActive());
  assert.deepEqual(await readFile(state), old);
});
