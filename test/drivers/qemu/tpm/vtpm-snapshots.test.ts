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
import { lstat, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainUndefineFlags as U, SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../src/api/flags.js';
import { parseDomainXML } from '../../../../src/conf/domain-xml.js';
import { manufactureTpmState, TPM2_STATE_FILE, tpmStateDirFor } from '../../../../src/drivers/qemu/tpm/swtpm-process.js';
import { tpmCopyPath } from '../../../../src/drivers/qemu/tpm/tpm-snapshot.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { emulatorTpm, tpmDomainXml, tpmTestDisk } from '../support/tpm-domain.js';
import { killAllQemu } from '../support/active-env.js';
import { runChildOp } from '../../../helpers/run-child-op.js';

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

test('a running domain with a vTPM: live snapshots copy the TPM state; reverts in place and through a new QEMU (a new generation of the state)', async (t) => {
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
  // A new QEMU beside the old one, whose swtpm holds the state until the switch: a failure
  // before the switch leaves the TPM path and its state as they were, and no generation behind.
  const tpmDir = tpmStateDirFor(env.stateDir, uuid);
  const before = await readFile(state);
  process.env.SNAPVIRT_FAILPOINTS = 'live-revert.switch.before=error';
  try {
    await assert.rejects(dom.revertToSnapshot(await dom.snapshotLookupByName('off'), R.PAUSED), /failpoint/);
  } finally {
    delete process.env.SNAPVIRT_FAILPOINTS;
  }
  assert.deepEqual(await readFile(state), before);
  assert.deepEqual(await generations(env.stateDir, uuid), [uuid], 'a plain directory, as before');
  assert.ok(await dom.isActive());
  // Done: the new swtpm runs on a new generation seeded with the snapshot's copy; the TPM
  // path is a link to it, and the old state (the directory of before) is gone.
  await dom.revertToSnapshot(await dom.snapshotLookupByName('off'), R.PAUSED);
  assert.ok((await lstat(tpmDir)).isSymbolicLink());
  assert.deepEqual(await readFile(state), await readFile(tpmCopyPath(env.stateDir, uuid, 'off')));
  const [, first] = await generations(env.stateDir, uuid);
  assert.match(first ?? '', /\.gen-[0-9a-f]{12}$/);
  // Again, from that generation to the next; the previous one is removed after the commit.
  await dom.revertToSnapshot(await dom.snapshotLookupByName('live'), R.PAUSED);
  assert.deepEqual(await readFile(state), await readFile(tpmCopyPath(env.stateDir, uuid, 'live')));
  const now = await generations(env.stateDir, uuid);
  assert.equal(now.length, 2, now.join(' '));
  assert.notEqual(now[1], first);
  // To a shut-off snapshot: the domain ends shut off on the snapshot's TPM state, and starts on it.
  await dom.revertToSnapshot(await dom.snapshotLookupByName('off'), 0);
  assert.equal(await dom.isActive(), false);
  assert.deepEqual(await readFile(state), await readFile(tpmCopyPath(env.stateDir, uuid, 'off')));
  await dom.create();
  assert.deepEqual((await dom.snapshotListNames()).sort(), ['live', 'mem', 'off']);
  // undefine takes the link and the generation it points at.
  await dom.destroy();
  await dom.undefine(U.SNAPSHOTS_METADATA);
  assert.deepEqual(await generations(env.stateDir, uuid), []);
});

/** The names in `<stateDir>/tpm` that belong to domain `uuid` (its TPM path and its generations), sorted. */
async function generations(stateDir: string, uuid: string): Promise<string[]> {
  return (await readdir(join(stateDir, 'tpm'))).filter((n) => n.startsWith(uuid)).sort();
}

test('a group snapshot with a running member with a vTPM copies every member\'s TPM state; a group revert gives it back', async (t) => {
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
  // The running member's TPM moves to a new generation, seeded with its copy, as a single revert's does.
  await (await env.conn.groupSnapshotLookupByName('g')).revert(R.PAUSED);
  for (const d of doms) {
    const uuid = d.getUUIDString();
    assert.deepEqual(await readFile(join(tpmStateDirFor(env.stateDir, uuid), TPM2_STATE_FILE)), await readFile(tpmCopyPath(env.stateDir, uuid, 'g')), d.getName());
  }
  assert.ok((await lstat(tpmStateDirFor(env.stateDir, doms[0]!.getUUIDString()))).isSymbolicLink());
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

test('a running vTPM revert killed after its switch (old QEMU stopped) or after its commit: the next open points the TPM path at the new generation, the old one gone', async (t) => {
  for (const point of ['live-revert.switch.after', 'live-revert.commit.after']) {
    const env = await openQemuTestEnv();
    t.after(async () => {
      await killAllQemu(env.stateDir);
      await env.cleanup();
    });
    const disk = await tpmTestDisk(env.imageDir, 'd');
    const dom = await env.conn.domainDefineXML(tpmDomainXml('vtpm', disk, emulatorTpm('tpm-tis')));
    const uuid = dom.getUUIDString();
    await dom.create();
    await dom.snapshotCreateXML(snapXml('live'), C.DISK_ONLY);
    const child = await runChildOp(env.stateDir, `${point}=crash`, ['revert', 'vtpm', 'live', String(R.PAUSED)]);
    assert.equal(child.signal, 'SIGKILL', `${point}: ${child.stderr}`);
    // A new connection runs recovery: forward, the switch marker being there.
    const conn = await env.reopen();
    assert.ok(await (await conn.domainLookupByName('vtpm')).isActive(), point);
    const link = tpmStateDirFor(env.stateDir, uuid);
    assert.ok((await lstat(link)).isSymbolicLink(), point);
    assert.deepEqual(await readFile(join(link, TPM2_STATE_FILE)), await readFile(tpmCopyPath(env.stateDir, uuid, 'live')), point);
    assert.equal((await generations(env.stateDir, uuid)).length, 2, `${point}: the link and one generation`);
  }
});
