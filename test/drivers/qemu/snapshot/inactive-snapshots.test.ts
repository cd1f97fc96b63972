/** The offline QEMU driver end to end through the public API, with real images and qemu-io patterns. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { SnapshotCreateFlags as C, SnapshotDeleteFlags as D, DomainUndefineFlags as U } from '../../../../src/api/flags.js';
import { VirError } from '../../../../src/api/errors.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { domainXml, makeImages, diskSourcesIn } from '../../../helpers/domain-fixture.js';
import { hasPattern, writePattern } from '../../../helpers/qemu-io.js';
import { chainOf, namesIn } from '../../../helpers/disk-state.js';
import { checkImage } from '../../../../src/drivers/qemu/images/qemu-img.js';

const K = 65536;

test('internal snapshots on 2 disks: create, revert to each, delete', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xa, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>A</name></domainsnapshot>', C.ATOMIC);
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xb, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>B</name></domainsnapshot>');
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xc, 0, K);

  assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.getName()).sort(), ['A', 'B']);
  assert.equal((await dom.snapshotCurrent()).getName(), 'B');
  assert.equal((await (await dom.snapshotLookupByName('B')).getParent()).getName(), 'A');
  const xmlA = await (await dom.snapshotLookupByName('A')).getXMLDesc();
  assert.match(xmlA, /<state>shutoff<\/state>/);
  assert.match(xmlA, /<disk name='vda' snapshot='internal'\/>/);

  await (await dom.snapshotLookupByName('A')).revert();
  for (const d of disks) assert.equal(await hasPattern(d.path, 'qcow2', 0xa, 0, K), true);
  assert.equal((await dom.snapshotCurrent()).getName(), 'A');
  await (await dom.snapshotLookupByName('B')).revert();
  for (const d of disks) assert.equal(await hasPattern(d.path, 'qcow2', 0xb, 0, K), true);
  // The temporary undo tags are gone after the commit.
  for (const d of disks) assert.deepEqual((await chainOf(d.path, 'qcow2'))[0], { filename: d.path, format: 'qcow2', backing: undefined, backingFormat: undefined, snapshots: ['A', 'B'] });

  await (await dom.snapshotLookupByName('A')).delete();
  for (const d of disks) assert.deepEqual(((await chainOf(d.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots, ['B']);
  assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.getName()), ['B']);
  assert.equal((await (await dom.snapshotLookupByName('B')).getParent().catch((e: unknown) => e)) instanceof VirError, true);
});

test('external snapshots on 2 disks: overlays 0600, domain switched, revert keeps branches, delete merges', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'raw']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const d of disks) await writePattern(d.path, d.format, 0xa, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY | C.ATOMIC);
  const after1 = await diskSourcesIn(await dom.getXMLDesc());
  assert.deepEqual(after1, [`${env.imageDir}/vm-0.e1`, `${env.imageDir}/vm-1.e1`]);
  for (const p of after1) {
    assert.equal((await stat(p)).mode & 0o777, 0o600);
    assert.equal((await checkImage(p, 'qcow2')).exitCode, 0);
    await writePattern(p, 'qcow2', 0xb, 0, K);
  }
  const chain = await chainOf(after1[1]!, 'qcow2');
  assert.deepEqual(chain.map((c) => (c as { filename: string }).filename), [after1[1], disks[1]!.path]);
  assert.equal((chain[0] as { backing: string }).backing, disks[1]!.path);
  assert.equal((chain[0] as { backingFormat: string }).backingFormat, 'raw');

  await dom.snapshotCreateXML('<domainsnapshot><name>e2</name></domainsnapshot>', C.DISK_ONLY);
  const after2 = await diskSourcesIn(await dom.getXMLDesc());
  for (const p of after2) await writePattern(p, 'qcow2', 0xc, 0, K);
  const snapXml = await (await dom.snapshotLookupByName('e2')).getXMLDesc();
  assert.match(snapXml, /<state>shutoff<\/state>/);

  // Revert to e1: fresh overlays on the images e1 froze (pattern A); the e1/e2 branch stays.
  await (await dom.snapshotLookupByName('e1')).revert();
  const reverted = await diskSourcesIn(await dom.getXMLDesc());
  for (let i = 0; i < 2; i++) {
    assert.equal(await hasPattern(reverted[i]!, 'qcow2', 0xa, 0, K), true);
    assert.equal(await hasPattern(after2[i]!, 'qcow2', 0xc, 0, K), true);
  }
  await (await dom.snapshotLookupByName('e2')).revert();
  const atE2 = await diskSourcesIn(await dom.getXMLDesc());
  for (const p of atE2) assert.equal(await hasPattern(p, 'qcow2', 0xb, 0, K), true);

  // Delete e2: data of the current state and of e1 are unchanged.
  for (const p of atE2) await writePattern(p, 'qcow2', 0xd, K, K);
  await (await dom.snapshotLookupByName('e2')).delete();
  const cur = await diskSourcesIn(await dom.getXMLDesc());
  for (const p of cur) {
    assert.equal(await hasPattern(p, 'qcow2', 0xb, 0, K), true);
    assert.equal(await hasPattern(p, 'qcow2', 0xd, K, K), true);
  }
  await (await dom.snapshotLookupByName('e1')).revert();
  for (const p of await diskSourcesIn(await dom.getXMLDesc())) assert.equal(await hasPattern(p, 'qcow2', 0xa, 0, K), true);
  assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.getName()), ['e1']);
});

test('undefine is refused while snapshot metadata exists, unless SNAPSHOTS_METADATA', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await dom.snapshotCreateXML('<domainsnapshot><name>s</name></domainsnapshot>');
  await assert.rejects(dom.undefine(), (e: unknown) => e instanceof VirError && e.message === 'Requested operation is not valid: cannot delete inactive domain with 1 snapshots');
  await dom.undefine(U.SNAPSHOTS_METADATA);
  assert.deepEqual(await env.conn.listAllDomains(), []);
  assert.deepEqual(await namesIn(env.imageDir), ['vm-0.qcow2']);
});

test('raw disk refuses an internal snapshot up front; delete --metadata leaves the tags', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'raw']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot/>'),
    (e: unknown) => e instanceof VirError && e.message === 'unsupported configuration: internal snapshot for disk vdb unsupported for storage type raw');
  assert.deepEqual(((await chainOf(disks[0]!.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots, []);
  const dom2 = await env.conn.domainDefineXML(domainXml('vm2', [disks[0]!]));
  await dom2.snapshotCreateXML('<domainsnapshot><name>m</name></domainsnapshot>');
  await (await dom2.snapshotLookupByName('m')).delete(D.METADATA_ONLY);
  assert.deepEqual(((await chainOf(disks[0]!.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots, ['m']);
});

test('external delete merges: non-leaf then current leaf, data kept, overlays removed', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xa, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  for (const p of await diskSourcesIn(await dom.getXMLDesc())) await writePattern(p, 'qcow2', 0xb, K, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>e2</name></domainsnapshot>', C.DISK_ONLY);
  for (const p of await diskSourcesIn(await dom.getXMLDesc())) await writePattern(p, 'qcow2', 0xc, 2 * K, K);
  assert.deepEqual(await namesIn(env.imageDir), ['vm-0.e1', 'vm-0.e2', 'vm-0.qcow2', 'vm-1.e1', 'vm-1.e2', 'vm-1.qcow2']);

  // Non-leaf e1: its overlay is merged into the base, e2's overlay now sits on the base.
  await (await dom.snapshotLookupByName('e1')).delete();
  assert.deepEqual(await namesIn(env.imageDir), ['vm-0.e2', 'vm-0.qcow2', 'vm-1.e2', 'vm-1.qcow2']);
  const e2xml = await (await dom.snapshotLookupByName('e2')).getXMLDesc();
  assert.match(e2xml, new RegExp(`<source file='${disks[0]!.path}'/>`));
  for (let i = 0; i < 2; i++) {
    const top = `${env.imageDir}/vm-${i}.e2`;
    assert.deepEqual((await chainOf(top, 'qcow2')).map((c) => (c as { filename: string }).filename), [top, disks[i]!.path]);
    assert.equal(await hasPattern(top, 'qcow2', 0xa, 0, K), true);
    assert.equal(await hasPattern(top, 'qcow2', 0xb, K, K), true);
    assert.equal(await hasPattern(top, 'qcow2', 0xc, 2 * K, K), true);
    // e2's own state (the base now) has A and B but not C.
    assert.equal(await hasPattern(disks[i]!.path, 'qcow2', 0xb, K, K), true);
    assert.equal(await hasPattern(disks[i]!.path, 'qcow2', 0, 2 * K, K), true);
  }
  // Current leaf e2: merged into the base and the domain points at the base again.
  await (await dom.snapshotLookupByName('e2')).delete();
  assert.deepEqual(await namesIn(env.imageDir), ['vm-0.qcow2', 'vm-1.qcow2']);
  assert.deepEqual(await diskSourcesIn(await dom.getXMLDesc()), disks.map((d) => d.path));
  for (const d of disks) assert.equal(await hasPattern(d.path, 'qcow2', 0xc, 2 * K, K), true);
  assert.equal(await dom.hasCurrentSnapshot(), false);
});

test('revert to an internal snapshot under an external one copies it out; every branch keeps its data', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xa, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>i1</name></domainsnapshot>');
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xb, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  const overlays = await diskSourcesIn(await dom.getXMLDesc());
  for (const p of overlays) await writePattern(p, 'qcow2', 0xc, 0, K);

  await (await dom.snapshotLookupByName('i1')).revert();
  const copies = await diskSourcesIn(await dom.getXMLDesc());
  assert.deepEqual(copies, [`${env.imageDir}/vm-0.i1-revert1`, `${env.imageDir}/vm-1.i1-revert1`]);
  for (let i = 0; i < 2; i++) {
    assert.equal((await stat(copies[i]!)).mode & 0o777, 0o600);
    assert.equal(await hasPattern(copies[i]!, 'qcow2', 0xa, 0, K), true);
    assert.equal(await hasPattern(overlays[i]!, 'qcow2', 0xc, 0, K), true);
    assert.equal(await hasPattern(disks[i]!.path, 'qcow2', 0xb, 0, K), true);
    assert.deepEqual(((await chainOf(disks[i]!.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots, ['i1']);
  }
  assert.equal((await dom.snapshotCurrent()).getName(), 'i1');
  await (await dom.snapshotLookupByName('e1')).revert();
  for (const p of await diskSourcesIn(await dom.getXMLDesc())) assert.equal(await hasPattern(p, 'qcow2', 0xb, 0, K), true);
});
