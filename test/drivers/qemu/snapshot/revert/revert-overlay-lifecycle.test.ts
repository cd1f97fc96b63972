/**
 * The life of revert overlays: an overlay a revert creates belongs to the current state.
 * Reverting away from it (or deleting the snapshot of an abandoned branch) discards it in
 * the same operation unless a snapshot froze it; files never pile up, later deletes can
 * merge again, and every remaining snapshot and the current state keep exactly their data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCreateFlags as C, ShutoffReason, DomainState, DomainUndefineFlags as U } from '../../../../../src/api/flags.js';
import { openQemuTestEnv } from '../../../../helpers/qemu-connection.js';
import { domainXml, makeImages, diskSourcesIn } from '../../../../helpers/domain-fixture.js';
import { hasPattern, writePattern } from '../../../../helpers/qemu-io.js';
import { chainOf, namesIn } from '../../../../helpers/disk-state.js';
import { runChildOp } from '../../../../helpers/run-child-op.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const K = 65536;

test('reverting again discards the unsnapshotted revert overlay; deleting the abandoned branch removes its overlay', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'raw']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const d of disks) await writePattern(d.path, d.format, 0xa, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  const e1Overlays = diskSourcesIn(await dom.getXMLDesc());
  for (const p of e1Overlays) await writePattern(p, 'qcow2', 0xb, 0, K);

  const snap = await dom.snapshotLookupByName('e1');
  for (let round = 0; round < 3; round++) {
    await snap.revert();
    const cur = diskSourcesIn(await dom.getXMLDesc());
    for (const p of cur) {
      assert.equal(await hasPattern(p, 'qcow2', 0xa, 0, K), true, `round ${round}: ${p} reads A`);
      await writePattern(p, 'qcow2', 0xc, 0, K); // state the next revert throws away
    }
    // base + e1 overlay + exactly one revert overlay per disk, however many reverts.
    assert.equal((await namesIn(env.imageDir)).length, 6, `round ${round}: ${(await namesIn(env.imageDir)).join(' ')}`);
  }
  for (const p of e1Overlays) assert.equal(await hasPattern(p, 'qcow2', 0xb, 0, K), true);

  // The shut-off reason survives a reconnect.
  const conn = await env.reopen();
  const again = await conn.domainLookupByName('vm');
  assert.deepEqual(await again.getState(), { state: DomainState.SHUTOFF, reason: ShutoffReason.FROM_SNAPSHOT });

  // Deleting e1: its overlay held only the abandoned branch, so it goes; the current state stays.
  const current = diskSourcesIn(await again.getXMLDesc());
  await (await again.snapshotLookupByName('e1')).delete();
  assert.deepEqual(await namesIn(env.imageDir), [...disks.map((d) => d.path), ...current].map((p) => p.slice(env.imageDir.length + 1)).sort());
  for (const p of current) assert.equal(await hasPattern(p, 'qcow2', 0xc, 0, K), true);
  for (let i = 0; i < 2; i++) {
    assert.equal(await hasPattern(disks[i]!.path, disks[i]!.format, 0xa, 0, K), true);
    assert.deepEqual((await chainOf(current[i]!, 'qcow2')).map((c) => (c as { filename: string }).filename), [current[i], disks[i]!.path]);
  }
});

test('a revert overlay a snapshot froze is kept; after discarding, delete merges again', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xa, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  for (const p of diskSourcesIn(await dom.getXMLDesc())) await writePattern(p, 'qcow2', 0xb, K, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>e2</name></domainsnapshot>', C.DISK_ONLY);
  for (const p of diskSourcesIn(await dom.getXMLDesc())) await writePattern(p, 'qcow2', 0xc, 2 * K, K);

  // Revert to e1 and snapshot the revert overlay: e3 froze it, so it must survive reverts.
  await (await dom.snapshotLookupByName('e1')).revert();
  const r1 = diskSourcesIn(await dom.getXMLDesc());
  for (const p of r1) await writePattern(p, 'qcow2', 0xd, 3 * K, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>e3</name></domainsnapshot>', C.DISK_ONLY);
  await (await dom.snapshotLookupByName('e2')).revert();
  for (const p of r1) assert.equal(await hasPattern(p, 'qcow2', 0xd, 3 * K, K), true);
  await (await dom.snapshotLookupByName('e3')).revert();
  for (const p of diskSourcesIn(await dom.getXMLDesc())) {
    assert.equal(await hasPattern(p, 'qcow2', 0xa, 0, K), true);
    assert.equal(await hasPattern(p, 'qcow2', 0xd, 3 * K, K), true);
    assert.equal(await hasPattern(p, 'qcow2', 0, K, K), true);
  }
  // Delete e3 then revert to e2: every revert overlay of the e1 branch is now unneeded.
  await (await dom.snapshotLookupByName('e3')).delete();
  await (await dom.snapshotLookupByName('e2')).revert();
  const atE2 = diskSourcesIn(await dom.getXMLDesc());
  // base, e1 overlay, e2 overlay, the current revert overlay: nothing else left per disk.
  assert.equal((await namesIn(env.imageDir)).length, 8, (await namesIn(env.imageDir)).join(' '));

  // The base has one child again, so deleting e1 merges its overlay into the base.
  await (await dom.snapshotLookupByName('e1')).delete();
  assert.equal((await namesIn(env.imageDir)).length, 6, (await namesIn(env.imageDir)).join(' '));
  for (let i = 0; i < 2; i++) {
    const p = atE2[i]!;
    assert.equal(await hasPattern(p, 'qcow2', 0xa, 0, K), true);
    assert.equal(await hasPattern(p, 'qcow2', 0xb, K, K), true);
    assert.equal(await hasPattern(p, 'qcow2', 0, 2 * K, K), true);
    const e2Overlay = `${env.imageDir}/vm-${i}.e2`;
    assert.equal(await hasPattern(e2Overlay, 'qcow2', 0xc, 2 * K, K), true);
    assert.deepEqual((await chainOf(p, 'qcow2')).map((c) => (c as { filename: string }).filename), [p, disks[i]!.path]);
  }
  await (await dom.snapshotLookupByName('e2')).delete();
  for (const p of diskSourcesIn(await dom.getXMLDesc())) assert.equal(await hasPattern(p, 'qcow2', 0xb, K, K), true);
  assert.deepEqual(await dom.listAllSnapshots(), []);
});

for (const point of ['revert.commit.before=crash', 'revert.finalize.before=crash']) {
  test(`crash (${point}) while reverting away from a revert overlay: wholly before or wholly after`, async (t) => {
    const env = await openQemuTestEnv();
    t.after(() => env.cleanup());
    const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
    const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
    for (const d of disks) await writePattern(d.path, 'qcow2', 0xa, 0, K);
    await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
    await (await dom.snapshotLookupByName('e1')).revert();
    const r1 = diskSourcesIn(await dom.getXMLDesc());
    for (const p of r1) await writePattern(p, 'qcow2', 0xc, 0, K);
    const files = await namesIn(env.imageDir);
    await env.conn.close();
    const res = await runChildOp(env.stateDir, point, ['revert', 'vm', 'e1', '0']);
    assert.equal(res.signal, 'SIGKILL', res.stderr);
    const conn = await env.reopen();
    const cur = diskSourcesIn(await (await conn.domainLookupByName('vm')).getXMLDesc());
    if (point.startsWith('revert.commit.before')) {
      // Before the commit point: the old revert overlay is still current, with its data.
      assert.deepEqual(cur, r1);
      assert.deepEqual(await namesIn(env.imageDir), files);
      for (const p of cur) assert.equal(await hasPattern(p, 'qcow2', 0xc, 0, K), true);
    } else {
      // After it: recovery finished discarding the old overlay; the new one reads A.
      assert.notDeepEqual(cur, r1);
      assert.equal((await namesIn(env.imageDir)).length, files.length);
      for (const p of r1) assert.equal((await namesIn(env.imageDir)).includes(p.slice(env.imageDir.length + 1)), false);
      for (const p of cur) assert.equal(await hasPattern(p, 'qcow2', 0xa, 0, K), true);
    }
  });
}

test('two disks whose images share a stem (vm.qcow2, vm.raw) get distinct revert overlays', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = [
    { target: 'vda', path: `${env.imageDir}/vm.qcow2`, format: 'qcow2' as const },
    { target: 'vdb', path: `${env.imageDir}/vm.raw`, format: 'raw' as const },
  ];
  for (const d of disks) await run('qemu-img', ['create', '-q', '-f', d.format, d.path, String(1 << 20)]);
  for (const d of disks) await writePattern(d.path, d.format, 0xa + disks.indexOf(d), 0, K);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await dom.snapshotCreateXML(`<domainsnapshot><name>e</name><disks>
    <disk name='vda' snapshot='external'><source file='${env.imageDir}/a.ov'/></disk>
    <disk name='vdb' snapshot='external'><source file='${env.imageDir}/b.ov'/></disk></disks></domainsnapshot>`, C.DISK_ONLY);
  await (await dom.snapshotLookupByName('e')).revert();
  const cur = diskSourcesIn(await dom.getXMLDesc());
  assert.equal(new Set(cur).size, 2, cur.join(' '));
  assert.equal(await hasPattern(cur[0]!, 'qcow2', 0xa, 0, K), true);
  assert.equal(await hasPattern(cur[1]!, 'qcow2', 0xb, 0, K), true);
});

test('after undefine, the files snapvirt made are the user\'s: a redefined namesake never discards them', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const uuid = '6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
  let dom = await env.conn.domainDefineXML(domainXml('vm', disks, uuid));
  await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  await (await dom.snapshotLookupByName('e1')).revert();
  await dom.undefine(U.SNAPSHOTS_METADATA);
  const kept = await namesIn(env.imageDir);
  assert.deepEqual(kept, ['vm-0.e1', 'vm-0.e1-revert1', 'vm-0.qcow2']);
  dom = await env.conn.domainDefineXML(domainXml('vm', disks, uuid));
  await dom.snapshotCreateXML('<domainsnapshot><name>e2</name></domainsnapshot>', C.DISK_ONLY);
  await (await dom.snapshotLookupByName('e2')).revert();
  await (await dom.snapshotLookupByName('e2')).revert();
  await (await dom.snapshotLookupByName('e2')).delete();
  for (const name of kept) assert.equal((await namesIn(env.imageDir)).includes(name), true, name);
});

test('a revert overlay the user redefined the domain away from is not the current state: a revert keeps it', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  await (await dom.snapshotLookupByName('e1')).revert();
  const [r1] = diskSourcesIn(await dom.getXMLDesc());
  await writePattern(r1!, 'qcow2', 0xe, 0, K);
  // The user points the disk elsewhere by hand (here: at the e1 overlay).
  await env.conn.domainDefineXML((await dom.getXMLDesc()).replace(r1!, `${env.imageDir}/vm-0.e1`));
  await (await dom.snapshotLookupByName('e1')).revert();
  assert.equal(await hasPattern(r1!, 'qcow2', 0xe, 0, K), true);
});
