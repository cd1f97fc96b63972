/** Create flags and their errors on the offline QEMU driver, and which disks take part. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SnapshotCreateFlags as C, SnapshotListFlags as L } from '../../../../../src/api/flags.js';
import { VirError, VirErrorCode } from '../../../../../src/api/errors.js';
import { openQemuTestEnv } from '../../../../helpers/qemu-connection.js';
import { domainXml, makeImages } from '../../../../helpers/domain-fixture.js';
import { chainOf, namesIn } from '../../../../helpers/disk-state.js';
import { hasPattern, writePattern } from '../../../../helpers/qemu-io.js';

const run = promisify(execFile);

function isErr(code: number, text: string | RegExp) {
  return (e: unknown) => e instanceof VirError && e.code === code && (typeof text === 'string' ? e.message === text : text.test(e.message));
}

test('--reuse-external: accepted when the file sits on the current image, refused otherwise', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  const good = join(env.imageDir, 'pre.qcow2');
  const bad = join(env.imageDir, 'other.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', disks[0]!.path, '-F', 'qcow2', good]);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', bad, '1M']);
  const xmlFor = (p: string) => `<domainsnapshot><name>r</name><disks><disk name='vda'><source file='${p}'/></disk></disks></domainsnapshot>`;
  await assert.rejects(dom.snapshotCreateXML(xmlFor(bad), C.DISK_ONLY | C.REUSE_EXT), isErr(VirErrorCode.CONFIG_UNSUPPORTED, /must be a qcow2 image backed by/));
  await assert.rejects(dom.snapshotCreateXML(xmlFor(good), C.DISK_ONLY), isErr(VirErrorCode.CONFIG_UNSUPPORTED, /already exists and is not a block device/));
  await dom.snapshotCreateXML(xmlFor(good), C.DISK_ONLY | C.REUSE_EXT);
  assert.match(await dom.getXMLDesc(), /pre\.qcow2/);
  assert.deepEqual(await namesIn(env.imageDir), ['other.qcow2', 'pre.qcow2', 'vm-0.qcow2']);
});

test('--no-metadata: disks switch, nothing is listed, current unchanged', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await dom.snapshotCreateXML('<domainsnapshot><name>n</name></domainsnapshot>', C.DISK_ONLY | C.NO_METADATA);
  assert.match(await dom.getXMLDesc(), /vm-0\.n'/);
  assert.deepEqual(await dom.listAllSnapshots(), []);
  assert.equal(await dom.hasCurrentSnapshot(), false);
});

test('--redefine (with --current) restores metadata only; validate; duplicate and bad names', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name><description>first</description></domainsnapshot>', C.VALIDATE);
  await dom.snapshotCreateXML('<domainsnapshot><name>s2</name></domainsnapshot>');
  const x1 = await (await dom.snapshotLookupByName('s1')).getXMLDesc();
  const x2 = await (await dom.snapshotLookupByName('s2')).getXMLDesc();
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>'),
    isErr(VirErrorCode.OPERATION_FAILED, 'operation failed: domain moment s1 already exists'));
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>.hidden</name></domainsnapshot>'),
    isErr(VirErrorCode.XML_DETAIL, "invalid snapshot name '.hidden': name can't start with '.'"));
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><foo/></domainsnapshot>', C.VALIDATE),
    isErr(VirErrorCode.XML_INVALID_SCHEMA, /XML document failed to validate against schema/));

  // Forget both (metadata only), then redefine them in order; tags on disk are untouched.
  await (await dom.snapshotLookupByName('s1')).delete(0x1 | 0x2);
  assert.deepEqual(await dom.listAllSnapshots(), []);
  assert.deepEqual(((await chainOf(disks[0]!.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots, ['s1', 's2']);
  await assert.rejects(dom.snapshotCreateXML(x2, C.REDEFINE), isErr(VirErrorCode.INVALID_ARG, 'invalid argument: parent s1 for moment s2 not found'));
  await dom.snapshotCreateXML(x1, C.REDEFINE);
  assert.equal(await dom.hasCurrentSnapshot(), false);
  await dom.snapshotCreateXML(x2, C.REDEFINE | C.CURRENT);
  assert.equal((await dom.snapshotCurrent()).getName(), 's2');
  assert.equal(await (await dom.snapshotLookupByName('s1')).getXMLDesc(), x1);
  assert.equal(await (await dom.snapshotLookupByName('s2')).getXMLDesc(), x2);
  // The public API refuses these combinations before the driver.
  await assert.rejects(dom.snapshotCreateXML(x1, C.CURRENT), isErr(VirErrorCode.INVALID_ARG, /is required by flag/));
  await assert.rejects(dom.snapshotCreateXML(x1, C.REDEFINE | C.NO_METADATA), isErr(VirErrorCode.INVALID_ARG, /mutually exclusive/));
});

test('flag errors: quiesce needs disk-only, live needs a running full-system snapshot, unknown flags', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot/>', C.QUIESCE),
    isErr(VirErrorCode.INVALID_ARG, "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'"));
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot/>', C.LIVE),
    isErr(VirErrorCode.OPERATION_UNSUPPORTED, 'Operation not supported: live snapshot creation is supported only during full system snapshots'));
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot/>', 0x4000),
    isErr(VirErrorCode.INVALID_ARG, 'invalid argument: unsupported flags (0x4000) in function qemuDomainSnapshotCreateXML'));
  await assert.rejects(dom.snapshotCreateXML("<domainsnapshot><memory snapshot='internal'/></domainsnapshot>"),
    isErr(VirErrorCode.XML_ERROR, /memory state cannot be saved with offline or disk-only snapshot/));
  // --halt on a shut-off domain is accepted: it is already off.
  await dom.snapshotCreateXML('<domainsnapshot><name>h</name></domainsnapshot>', C.HALT | C.ATOMIC);
  assert.deepEqual((await dom.getState()).state, 5);
  assert.deepEqual(await namesIn(env.imageDir), ['vm-0.qcow2']);
});

test('disk selection: snapshot=no, read-only and cdrom disks are left out; mixing is refused', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2', 'raw', 'raw']);
  disks[2]!.readonly = true;
  disks[3]!.device = 'cdrom';
  disks[3]!.target = 'sda';
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await dom.snapshotCreateXML("<domainsnapshot><name>x</name><disks><disk name='vdb' snapshot='no'/></disks></domainsnapshot>", C.DISK_ONLY);
  const xml = await dom.getXMLDesc();
  assert.match(xml, /vm-0\.x'/);
  assert.match(xml, /vm-1\.qcow2'/);
  assert.match(xml, /vm-2\.raw'/);
  assert.match(xml, /vm-3\.raw'/);
  const sx = await (await dom.snapshotLookupByName('x')).getXMLDesc();
  assert.match(sx, /<disk name='vdb' snapshot='no'\/>/);
  assert.match(sx, /<disk name='vdc' snapshot='no'\/>/);
  assert.match(sx, /<disk name='sda' snapshot='no'\/>/);
  assert.deepEqual(await dom.snapshotListNames(L.INACTIVE), ['x']);
  assert.deepEqual(await dom.snapshotListNames(L.DISK_ONLY), []);
  assert.deepEqual(await dom.snapshotListNames(L.EXTERNAL), ['x']);
  await assert.rejects(dom.snapshotCreateXML("<domainsnapshot><disks><disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='external'/></disks></domainsnapshot>"),
    isErr(VirErrorCode.CONFIG_UNSUPPORTED, /must use snapshot mode|mixing internal and external/));
  await assert.rejects(dom.snapshotCreateXML("<domainsnapshot><disks><disk name='vda' snapshot='no'/><disk name='vdb' snapshot='no'/></disks></domainsnapshot>", C.DISK_ONLY),
    isErr(VirErrorCode.CONFIG_UNSUPPORTED, 'unsupported configuration: nothing selected for snapshot'));
  await assert.rejects(dom.snapshotCreateXML("<domainsnapshot><disks><disk name='vda'><source file='rel.qcow2'/></disk></disks></domainsnapshot>", C.DISK_ONLY),
    (e: unknown) => e instanceof VirError && /must be absolute/.test(e.message));
});

test('block and network disks are parsed, and refused for snapshots with libvirt\'s error', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const xml = `<domain type='qemu'><name>net</name><memory>131072</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='x'><host name='localhost' port='10809'/></source><target dev='vda' bus='virtio'/></disk></devices></domain>`;
  const dom = await env.conn.domainDefineXML(xml);
  assert.match(await dom.getXMLDesc(), /protocol='nbd'/);
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot/>'),
    isErr(VirErrorCode.CONFIG_UNSUPPORTED, "unsupported configuration: internal inactive snapshots are not supported on 'network' disks"));
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot/>', C.DISK_ONLY),
    (e: unknown) => e instanceof VirError && e.code === VirErrorCode.CONFIG_UNSUPPORTED);
  assert.deepEqual(await dom.listAllSnapshots(), []);
});

test("snapshot='external' on a disk without --disk-only makes an external shut-off snapshot; domain-level default too", async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  disks[1]!.snapshot = 'external';
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await dom.snapshotCreateXML("<domainsnapshot><name>x</name><disks><disk name='vda' snapshot='external'/></disks></domainsnapshot>");
  const sx = await (await dom.snapshotLookupByName('x')).getXMLDesc();
  assert.match(sx, /<state>shutoff<\/state>/);
  assert.match(sx, /<disk name='vda' snapshot='external' type='file'>/);
  assert.match(sx, /<disk name='vdb' snapshot='external' type='file'>/);
  assert.deepEqual(await namesIn(env.imageDir), ['vm-0.qcow2', 'vm-0.x', 'vm-1.qcow2', 'vm-1.x']);
});

test('delete flags: --children-only on internal removes descendants\' tags; external children too (libvirt refuses)', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const n of ['a', 'b', 'c']) await dom.snapshotCreateXML(`<domainsnapshot><name>${n}</name></domainsnapshot>`);
  await (await dom.snapshotLookupByName('a')).delete(0x4);
  assert.deepEqual(((await chainOf(disks[0]!.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots, ['a']);
  assert.equal((await dom.snapshotCurrent()).getName(), 'a');
  await writePattern(disks[0]!.path, 'qcow2', 0xb, 0, 65536);
  await dom.snapshotCreateXML('<domainsnapshot><name>e</name></domainsnapshot>', C.DISK_ONLY);
  const overlay = disks[0]!.path.replace(/\.qcow2$/, '.e');
  await writePattern(overlay, 'qcow2', 0xc, 65536, 65536);
  await assert.rejects((await dom.snapshotLookupByName('a')).delete(0x8),
    isErr(VirErrorCode.INVALID_ARG, 'invalid argument: unsupported flags (0x8) in function qemuDomainSnapshotDelete'));
  // Internal 'a' with its external child 'e': the tag goes; e's overlay is the current
  // state, so it stays (exact, not compacted) and the domain still reads B and C.
  await (await dom.snapshotLookupByName('a')).delete(0x1);
  assert.deepEqual(await dom.listAllSnapshots(), []);
  assert.deepEqual(((await chainOf(disks[0]!.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots, []);
  assert.match(await dom.getXMLDesc(), new RegExp(`<source file='${overlay}'/>`));
  assert.equal(await hasPattern(overlay, 'qcow2', 0xb, 0, 65536), true);
  assert.equal(await hasPattern(overlay, 'qcow2', 0xc, 65536, 65536), true);
});

test('delete --children of external snapshots after a revert: the abandoned overlays go, the current state stays', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xa, 0, 65536);
  await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  await dom.snapshotCreateXML('<domainsnapshot><name>e2</name></domainsnapshot>', C.DISK_ONLY);
  await dom.snapshotCreateXML('<domainsnapshot><name>e3</name></domainsnapshot>', C.DISK_ONLY);
  await (await dom.snapshotLookupByName('e1')).revert();
  const current = [...(await dom.getXMLDesc()).matchAll(/<source file='([^']+)'/g)].map((m) => m[1]!);
  for (const p of current) await writePattern(p, 'qcow2', 0xd, 65536, 65536);
  // --children-only keeps e1 (its frozen image stays); e2 and e3 and their overlays go.
  await (await dom.snapshotLookupByName('e1')).delete(0x4);
  assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.getName()), ['e1']);
  assert.deepEqual(await namesIn(env.imageDir), ['vm-0.e1', 'vm-0.e1-revert1', 'vm-0.qcow2', 'vm-1.e1', 'vm-1.e1-revert1', 'vm-1.qcow2']);
  await (await dom.snapshotLookupByName('e1')).delete(0x1);
  assert.deepEqual(await namesIn(env.imageDir), ['vm-0.e1-revert1', 'vm-0.qcow2', 'vm-1.e1-revert1', 'vm-1.qcow2']);
  for (const p of current) {
    assert.equal(await hasPattern(p, 'qcow2', 0xa, 0, 65536), true);
    assert.equal(await hasPattern(p, 'qcow2', 0xd, 65536, 65536), true);
  }
});

test('a block-device disk is refused for internal snapshots with libvirt\'s error', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const xml = `<domain type='qemu'><name>blk</name><memory>131072</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/null'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
  const dom = await env.conn.domainDefineXML(xml);
  assert.match(await dom.getXMLDesc(), /<source dev='\/dev\/null'\/>/);
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot/>'),
    isErr(VirErrorCode.CONFIG_UNSUPPORTED, "unsupported configuration: internal inactive snapshots are not supported on 'block' disks"));
});

test('duplicate external name with default overlay names reports the existing file first, as libvirt', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY),
    isErr(VirErrorCode.CONFIG_UNSUPPORTED, `unsupported configuration: external snapshot file for disk vda already exists and is not a block device: ${env.imageDir}/vm-0.e1`));
  await assert.rejects(dom.snapshotCreateXML(`<domainsnapshot><name>e1</name><disks><disk name='vda'><source file='${env.imageDir}/fresh'/></disk></disks></domainsnapshot>`, C.DISK_ONLY),
    isErr(VirErrorCode.OPERATION_FAILED, 'operation failed: domain moment e1 already exists'));
  assert.deepEqual(await namesIn(env.imageDir), ['vm-0.e1', 'vm-0.qcow2']);
});
