/**
 * The vTPM's state inside offline snapshots (internal and external): a create copies
 * swtpm's permanent state (manufacturing it first for a domain never started), a revert
 * writes it back byte for byte and the domain starts on it, a delete removes the copy;
 * a snapshot or revert of a running domain with a vTPM is refused and changes nothing.
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

test('a snapshot or a revert of a running domain with a vTPM is refused, nothing changed', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disk = await tpmTestDisk(env.imageDir, 'd');
  const dom = await env.conn.domainDefineXML(tpmDomainXml('vtpm', disk, emulatorTpm('tpm-crb'), 'q35'));
  await dom.snapshotCreateXML(snapXml('off'), 0);
  await dom.create();
  t.after(() => dom.destroy().catch(() => undefined));
  const unsupported = (what: string) => (e: unknown): boolean => e instanceof VirError && e.code === VirErrorCode.CONFIG_UNSUPPORTED
    && e.message === `unsupported configuration: ${what} of a running domain with a vTPM is not supported by snapvirt (its TPM state would be left out); shut the domain off first`;
  for (const flags of [0, C.DISK_ONLY]) {
    await assert.rejects(dom.snapshotCreateXML(snapXml('live'), flags), unsupported('a snapshot'));
  }
  await assert.rejects(dom.revertToSnapshot(await dom.snapshotLookupByName('off'), 0), unsupported('a snapshot revert'));
  assert.deepEqual(await dom.snapshotListNames(), ['off']);
  assert.equal(existsSync(tpmCopyPath(env.stateDir, dom.getUUIDString(), 'live')), false);
  assert.ok(await dom.isActive());
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
