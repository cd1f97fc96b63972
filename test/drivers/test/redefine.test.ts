/** Redefining snapshot metadata (VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE) on test:///default. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, SnapshotCreateFlags as C, SnapshotListFlags as L, SnapshotXMLFlags, type Domain } from '../../../src/index.js';

const snap = (name: string) => `<domainsnapshot><name>${name}</name></domainsnapshot>`;

async function domainWith(...names: string[]): Promise<Domain> {
  const dom = await (await connect('test:///default')).domainLookupByName('test');
  for (const name of names) await dom.snapshotCreateXML(snap(name));
  return dom;
}

async function dumpAll(dom: Domain): Promise<string[]> {
  const out: string[] = [];
  for (const s of await dom.listAllSnapshots(L.TOPOLOGICAL)) out.push(await s.getXMLDesc(SnapshotXMLFlags.SECURE));
  return out;
}

describe('snapshot redefine', () => {
  it('restores a dumped tree in a fresh connection, parents first, without moving current', async () => {
    const source = await domainWith('r1', 'r2', 'r3');
    const xmls = await dumpAll(source);
    const target = await (await connect('test:///default')).domainLookupByName('test');
    await assert.rejects(target.snapshotCreateXML(xmls[1]!, C.REDEFINE), {
      code: 8, domain: 20, message: 'invalid argument: parent r1 for moment r2 not found',
    });
    for (const xml of xmls) await target.snapshotCreateXML(xml, C.REDEFINE);
    assert.equal(await target.hasCurrentSnapshot(), false);
    assert.deepEqual(await dumpAll(target), xmls);
    await target.snapshotCreateXML(xmls[2]!, C.REDEFINE | C.CURRENT | C.VALIDATE);
    assert.equal((await target.snapshotCurrent()).getName(), 'r3');
  });

  it('sets the current snapshot the way virsh snapshot-current does', async () => {
    const dom = await domainWith('s1', 's2');
    const xml = await (await dom.snapshotLookupByName('s1')).getXMLDesc(SnapshotXMLFlags.SECURE);
    await dom.snapshotCreateXML(xml, C.REDEFINE | C.CURRENT);
    assert.equal((await dom.snapshotCurrent()).getName(), 's1');
    assert.deepEqual((await dom.listAllSnapshots(L.TOPOLOGICAL)).map((s) => s.getName()), ['s1', 's2']);
  });

  it('refuses cycles, self-parenting and a changed online state', async () => {
    const dom = await domainWith('s1', 's2', 's3');
    const head = '<domainsnapshot><name>s1</name><state>running</state>';
    await assert.rejects(dom.snapshotCreateXML(`${head}<parent><name>s3</name></parent><creationTime>100</creationTime></domainsnapshot>`, C.REDEFINE), {
      code: 8, message: 'invalid argument: parent s2 would create cycle to s1',
    });
    await assert.rejects(dom.snapshotCreateXML(`${head}<parent><name>s1</name></parent><creationTime>100</creationTime></domainsnapshot>`, C.REDEFINE), {
      code: 8, message: 'invalid argument: cannot set moment s1 as its own parent',
    });
    await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>s1</name><state>shutoff</state><creationTime>100</creationTime></domainsnapshot>', C.REDEFINE), {
      code: 8, domain: 35, message: 'invalid argument: cannot change between online and offline snapshot state in snapshot s1',
    });
    assert.equal((await (await dom.snapshotLookupByName('s2')).getParent()).getName(), 's1');
  });

  it('keeps the old <domain> when the new XML has none, and drops the parent it omits', async () => {
    const dom = await domainWith('s1', 's2', 's3');
    await dom.snapshotCreateXML('<domainsnapshot><name>s2</name><description>new</description><state>running</state><creationTime>100</creationTime></domainsnapshot>', C.REDEFINE);
    const xml = await (await dom.snapshotLookupByName('s2')).getXMLDesc();
    assert.match(xml, /<description>new<\/description>/);
    assert.match(xml, /<creationTime>100<\/creationTime>/);
    assert.match(xml, /<domain type='test'>/);
    assert.doesNotMatch(xml, /<parent>/);
    assert.deepEqual((await dom.listAllSnapshots(L.TOPOLOGICAL)).map((s) => s.getName()), ['s2', 's3', 's1']);
    assert.equal((await dom.snapshotCurrent()).getName(), 's3');
  });

  it('needs a <domain> for a new name and the domain\'s uuid in it', async () => {
    const dom = await domainWith();
    await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>r1</name><state>running</state><creationTime>100</creationTime></domainsnapshot>', C.REDEFINE), {
      code: 1, message: 'internal error: missing domain in snapshot',
    });
    await assert.rejects(dom.snapshotCreateXML("<domainsnapshot><name>r1</name><state>running</state><creationTime>100</creationTime><domain type='test'><name>test</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>1024</memory><os><type>hvm</type></os></domain></domainsnapshot>", C.REDEFINE), {
      code: 8, message: 'invalid argument: definition for snapshot r1 must use uuid 6695eb01-f6a4-8304-79aa-97f2502e193f',
    });
    assert.equal(await dom.snapshotNum(), 0);
  });

  it('API flag checks come before the driver', async () => {
    const dom = await domainWith();
    await assert.rejects(dom.snapshotCreateXML(snap('x'), C.CURRENT), {
      code: 8, message: "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT'",
    });
    await assert.rejects(dom.snapshotCreateXML(snap('x'), C.REDEFINE | C.NO_METADATA), { code: 8 });
  });
});

describe('snapvirt extensions over libvirt\'s test driver', () => {
  it('--no-metadata creates nothing listable and leaves current alone', async () => {
    const dom = await domainWith('s1');
    const made = await dom.snapshotCreateXML(snap('ghost'), C.NO_METADATA);
    assert.equal(made.getName(), 'ghost');
    assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.getName()), ['s1']);
    assert.equal((await dom.snapshotCurrent()).getName(), 's1');
  });

  it('--disk-only of a running domain records disk-snapshot state and external overlays', async () => {
    const dom = await domainWith();
    await dom.snapshotCreateXML(snap('d1'), C.DISK_ONLY);
    const xml = await (await dom.snapshotLookupByName('d1')).getXMLDesc();
    assert.match(xml, /<state>disk-snapshot<\/state>/);
    assert.match(xml, /<memory snapshot='no'\/>/);
    assert.match(xml, /<disk name='vda' snapshot='external' type='file'>\s*<source file='\/guest\/diskimage1\.d1'\/>/);
    assert.match(await dom.getXMLDesc(), /<source file='\/guest\/diskimage1\.d1'\/>/);
    assert.deepEqual((await dom.listAllSnapshots(L.DISK_ONLY)).map((s) => s.getName()), ['d1']);
    assert.deepEqual((await dom.listAllSnapshots(L.EXTERNAL)).map((s) => s.getName()), ['d1']);
    assert.deepEqual(await dom.listAllSnapshots(L.INTERNAL), []);
  });

  it('--disk-only of a shut-off domain records shutoff state', async () => {
    const dom = await domainWith();
    await dom.destroy();
    await dom.snapshotCreateXML(snap('e1'), C.DISK_ONLY | C.ATOMIC);
    assert.match(await (await dom.snapshotLookupByName('e1')).getXMLDesc(), /<state>shutoff<\/state>/);
    assert.deepEqual((await dom.listAllSnapshots(L.INACTIVE)).map((s) => s.getName()), ['e1']);
  });

  it('unknown flags are refused the way virCheckFlags does', async () => {
    const dom = await domainWith();
    await assert.rejects(dom.snapshotCreateXML(snap('x'), 0x400), {
      code: 8, domain: 12, message: 'unsupported flags (0x400) in function testDomainSnapshotCreateXML',
    });
  });
});
