/**
 * Each disk of Domain.getDefinition() (and of the domain a snapshot's definition carries)
 * has its backing chain as objects, top first, with formats: made by snapvirt's own
 * external snapshots, shut off (from the headers, as `qemu-img info --backing-chain`
 * reports them) and running (from the QEMU that has them open); a raw disk holding a
 * qcow2 header is one raw layer and is never parsed; a backing file whose format is not
 * recorded ends the chain unread, and says so; the test driver's chain is the source alone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { connect, DomainXMLFlags, parseDomainDefinition, SnapshotCreateFlags, snapshotXML, type Domain } from '../../src/index.js';
import { domainXml, makeImages, type FixtureDisk } from '../helpers/domain-fixture.js';
import { openQemuTestEnv } from '../helpers/qemu-connection.js';

const run = promisify(execFile);
// Tests never depend on KVM.
process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';

/** The chain as qemu-img reports it (the oracle for a shut-off domain). */
async function qemuImgChain(path: string): Promise<Array<{ path: string; format: string }>> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--backing-chain', '--output=json', path]);
  return (JSON.parse(stdout) as Array<{ filename: string; format: string }>).map((i) => ({ path: i.filename, format: i.format }));
}

/** Two external disk-only snapshots of `dom`'s vda, overlays named so the test knows them. */
async function twoSnapshots(dom: Domain, dir: string, flags: number): Promise<string[]> {
  const overlays = [join(dir, 'vda.s1.qcow2'), join(dir, 'vda.s2.qcow2')];
  for (const [i, source] of overlays.entries()) {
    await dom.snapshotCreateXML(await snapshotXML({ name: `s${i + 1}`, disks: [{ name: 'vda', snapshot: 'external', source }] }), flags);
  }
  return overlays;
}

test('test driver: a disk\'s chain is its source alone, read from the definition', async () => {
  await using conn = await connect('test:///default');
  const dom = await conn.domainLookupByName('test');
  const def = await dom.getDefinition();
  assert.deepEqual(def.disks.map((d) => [d.chain, d.chainOrigin, d.chainNote]), [[[{ path: '/guest/diskimage1', format: 'raw' }], 'definition', undefined]]);
  const snap = await dom.snapshotCreateXML('<domainsnapshot><name>a</name></domainsnapshot>');
  assert.deepEqual((await snap.getDefinition()).domain?.disks[0]?.chain, [{ path: '/guest/diskimage1', format: 'raw' }]);
  // parseDomainDefinition reads no image: the definition without chains.
  const parsed = await parseDomainDefinition(await dom.getXMLDesc());
  assert.equal(parsed.disks[0]?.chain, undefined);
  assert.deepEqual({ ...def, disks: def.disks.map(({ chain: _c, chainOrigin: _o, ...d }) => d) }, parsed);
});

test('qemu driver, shut off: a 3-deep chain made by snapvirt snapshots, as qemu-img sees it; a snapshot\'s domain has its chain then', async () => {
  const env = await openQemuTestEnv();
  try {
    const [base] = await makeImages(env.imageDir, 'chain', ['qcow2']) as [FixtureDisk];
    const dom = await env.conn.domainDefineXML(domainXml('chain', [base]));
    const [s1, s2] = await twoSnapshots(dom, env.imageDir, SnapshotCreateFlags.DISK_ONLY) as [string, string];
    const [vda] = (await dom.getDefinition()).disks;
    const expected = [{ path: s2, format: 'qcow2' }, { path: s1, format: 'qcow2' }, { path: base.path, format: 'qcow2' }];
    assert.deepEqual(vda?.chain, expected);
    assert.equal(vda?.chainOrigin, 'images');
    assert.equal(vda?.chainNote, undefined);
    assert.deepEqual(await qemuImgChain(s2), expected, 'qemu-img agrees');
    assert.deepEqual((await dom.getDefinition(DomainXMLFlags.INACTIVE)).disks[0]?.chain, expected);
    // s2 recorded the domain writing to s1: its chain on disk is s1 and the base.
    const s2Domain = (await (await dom.snapshotLookupByName('s2')).getDefinition()).domain;
    assert.deepEqual(s2Domain?.disks[0]?.chain, expected.slice(1));
    assert.equal(s2Domain?.disks[0]?.chainOrigin, 'images');
  } finally {
    await env.cleanup();
  }
});

test('qemu driver, running: the chain the QEMU has open; INACTIVE gives the one on disk', async () => {
  const env = await openQemuTestEnv();
  let dom: Domain | undefined;
  try {
    const [base] = await makeImages(env.imageDir, 'live', ['qcow2'], 16 << 20) as [FixtureDisk];
    dom = await env.conn.domainDefineXML(domainXml('live', [base]));
    await dom.create();
    const [s1, s2] = await twoSnapshots(dom, env.imageDir, SnapshotCreateFlags.DISK_ONLY | SnapshotCreateFlags.ATOMIC) as [string, string];
    const [vda] = (await dom.getDefinition()).disks;
    const expected = [{ path: s2, format: 'qcow2' }, { path: s1, format: 'qcow2' }, { path: base.path, format: 'qcow2' }];
    assert.deepEqual(vda?.chain, expected);
    assert.equal(vda?.chainOrigin, 'qemu');
    const inactive = (await dom.getDefinition(DomainXMLFlags.INACTIVE)).disks[0];
    assert.deepEqual(inactive?.chain, expected, 'the persistent definition follows the live snapshot');
    assert.equal(inactive?.chainOrigin, 'images');
  } finally {
    await dom?.destroy().catch(() => undefined);
    await env.cleanup();
  }
});

test('qemu driver: a raw disk holding a qcow2 header is one raw layer, never parsed; an unrecorded backing format ends the chain unread', async () => {
  const env = await openQemuTestEnv();
  try {
    const secret = join(env.imageDir, 'secret.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', secret, '1M']);
    const header = join(env.imageDir, 'header.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', secret, '-F', 'qcow2', header, '1M']);
    const raw = join(env.imageDir, 'guest.raw');
    await writeFile(raw, await readFile(header)); // what a guest can write into its own disk
    const top = join(env.imageDir, 'top.qcow2');
    const guest = join(env.imageDir, 'guest.img');
    await writeFile(guest, await readFile(header));
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', guest, '-F', 'raw', top, '1M']);
    // Drop the backing-format extension (qemu-img ≥ 6 always writes one) with an unknown extension type.
    const fh = await open(top, 'r+');
    await fh.write(Buffer.from([0x12, 0x34, 0x56, 0x78]), 0, 4, 112);
    await fh.close();
    const dom = await env.conn.domainDefineXML(domainXml('rawdisk', [
      { target: 'vda', path: raw, format: 'raw' }, { target: 'vdb', path: top, format: 'qcow2' },
    ]));
    const [vda, vdb] = (await dom.getDefinition()).disks;
    assert.deepEqual(vda?.chain, [{ path: raw, format: 'raw' }]);
    assert.equal(vda?.chainNote, undefined);
    assert.deepEqual(vdb?.chain, [{ path: top, format: 'qcow2' }, { path: guest, format: null }]);
    assert.equal(vdb?.chainNote, `format of backing image '${guest}' of image '${top}' was not specified in the image metadata: `
      + 'snapvirt never probes a format, so the chain ends there unread');
  } finally {
    await env.cleanup();
  }
});
