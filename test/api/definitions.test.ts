/**
 * Definition objects: snapshotXML() builds `<domainsnapshot>` XML from an object (any
 * characters in name and description, disks with modes and targets, a memory spec) that
 * validates against libvirt's RelaxNG schema and reads back into the same object and, built
 * again, the same bytes; getDefinition() on snapshots and domains gives objects from the
 * XML the drivers print, on the test and the qemu driver.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connect, isVirError, parseDomainDefinition, parseSnapshotDefinition, SnapshotCreateFlags, snapshotXML,
  VirErrorCode, type SnapshotDefinitionInput,
} from '../../src/index.js';
import { validateAgainstSchema } from '../../src/conf/schema-validate.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { openQemuTestEnv } from '../helpers/qemu-connection.js';

const FULL: SnapshotDefinitionInput = {
  name: 'before "upgrade" & <v2>',
  description: 'upgrade db & app <v2>\n  second line: \'quotes\' "too" ]]> & &amp;',
  memory: { snapshot: 'external', file: '/var/lib/snap/mem & state.img' },
  disks: [
    { name: 'vda', snapshot: 'external', type: 'file', format: 'qcow2', source: '/images/vda <overlay>.qcow2' },
    { name: 'vdb', snapshot: 'internal' },
    { name: '/images/data.raw', snapshot: 'no' },
    { name: 'vdd', snapshot: 'manual' },
  ],
};

test('an object with every kind of field builds XML that validates and reads back the same', async () => {
  await ensureXmlParser();
  for (const input of [FULL, {}, { description: '<&>' }, { name: 's1', disks: [{ name: 'vda', snapshot: 'external' as const }] }]) {
    const xml = await snapshotXML(input);
    validateAgainstSchema(xml, 'domainsnapshot');
    const { name, ...rest } = await parseSnapshotDefinition(xml);
    const { name: givenName, ...given } = input;
    assert.deepEqual(rest, { disks: [], ...given });
    if (givenName !== undefined) assert.equal(name, givenName);
    assert.equal(await snapshotXML(givenName === undefined ? rest : { name, ...rest }), xml, 'byte for byte');
  }
  assert.match(await snapshotXML(FULL), /<description>upgrade db &amp; app &lt;v2&gt;/);
});

test('a definition libvirt would refuse is refused when built, with libvirt error', async () => {
  await assert.rejects(() => snapshotXML({ memory: { snapshot: 'internal', file: '/x' } }), (err: unknown) =>
    isVirError(err) && (err.code === VirErrorCode.XML_ERROR || err.code === VirErrorCode.XML_DETAIL) && /memory/.test(err.message));
});

test('test driver: a snapshot made from an object reads back as that object', async () => {
  await using conn = await connect('test:///default');
  const dom = await conn.domainLookupByName('test');
  const first = await dom.snapshotCreateXML(await snapshotXML({ name: 'a & b', description: 'upgrade db & app <v2>' }));
  const second = await dom.snapshotCreateXML(await snapshotXML({ name: 'child', disks: [{ name: 'vda', snapshot: 'internal' }] }));
  const def = await second.getDefinition();
  assert.equal(def.name, 'child');
  assert.equal(def.parent, 'a & b');
  assert.equal(def.state, 'running');
  assert.equal(typeof def.creationTime, 'number');
  assert.deepEqual(def.disks, [{ name: 'vda', snapshot: 'internal' }]);
  assert.equal(def.domain?.name, 'test');
  assert.deepEqual(def.domain?.disks.map((d) => [d.target, d.source]), [['vda', '/guest/diskimage1']]);
  assert.equal((await first.getDefinition()).description, 'upgrade db & app <v2>');
  const domainDef = await dom.getDefinition();
  // getDefinition adds what the driver knows of each disk's chain (test/api/disk-chains.test.ts).
  const withoutChains = { ...domainDef, disks: domainDef.disks.map(({ chain: _c, chainOrigin: _o, ...d }) => d) };
  assert.deepEqual(withoutChains, await parseDomainDefinition(await dom.getXMLDesc()));
  assert.equal(domainDef.uuid, dom.getUUIDString());
});

test('qemu driver: disks, sources and overlays of an external snapshot, from objects', async () => {
  const env = await openQemuTestEnv();
  try {
    const images = await makeImages(env.imageDir, 'defs', ['qcow2', 'qcow2']);
    const dom = await env.conn.domainDefineXML(domainXml('defs', images));
    const before = await dom.getDefinition();
    assert.deepEqual(before.disks.map((d) => [d.target, d.source, d.format]), images.map((i) => [i.target, i.path, 'qcow2']));
    const overlay = `${env.imageDir}/vda & overlay.qcow2`;
    const snap = await dom.snapshotCreateXML(await snapshotXML({
      name: 'upgrade <v2>', description: 'upgrade db & app <v2>',
      disks: [{ name: images[0].target, snapshot: 'external', source: overlay }, { name: images[1].target, snapshot: 'external' }],
    }), SnapshotCreateFlags.DISK_ONLY);
    const def = await snap.getDefinition();
    assert.equal(def.state, 'shutoff'); // as libvirt records a disk-only snapshot of a shut-off domain
    assert.equal(def.disks[0].source, overlay);
    assert.equal(def.disks[0].snapshot, 'external');
    assert.deepEqual(def.domain?.disks.map((d) => d.source), images.map((i) => i.path), 'the domain as it was');
    const after = await dom.getDefinition();
    assert.equal(after.disks[0].source, overlay, 'the domain now writes to the overlay');
    assert.equal(after.disks[1].source, def.disks[1].source);
  } finally {
    await env.cleanup();
  }
});
