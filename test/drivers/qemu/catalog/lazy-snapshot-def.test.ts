/** Stored snapshot definitions parse their XML on first use only (docs/PERFORMANCE.md, finding 1). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureXmlParser } from '../../../../src/conf/xml-parse.js';
import { parseSnapshotXML } from '../../../../src/conf/snapshot-xml.js';
import { isUnparsed, lazySnapshotDef } from '../../../../src/drivers/qemu/catalog/lazy-snapshot-def.js';

await ensureXmlParser();

const XML = `<domainsnapshot><name>s2</name><state>shutoff</state><parent><name>stale</name></parent>
  <creationTime>1700000000</creationTime><memory snapshot='no'/><disks><disk name='vda' snapshot='internal'/></disks>
</domainsnapshot>`;

function counted(): { read: () => string; reads: () => number } {
  let reads = 0;
  return { read: () => { reads++; return XML; }, reads: () => reads };
}

test('name and parent come from the columns without reading the XML', () => {
  const xml = counted();
  const def = lazySnapshotDef('s2', 's1', xml.read);
  assert.equal(def.name, 's2');
  assert.equal(def.parent, 's1');
  assert.equal(xml.reads(), 0);
  assert.equal(isUnparsed(def), true);
});

test('the first other field read parses once and gives what parsing gives, the columns winning', () => {
  const xml = counted();
  const def = lazySnapshotDef('s2', 's1', xml.read);
  assert.equal(def.state, 'shutoff');
  assert.equal(def.creationTime, 1700000000);
  assert.equal(def.description, undefined);
  assert.equal(xml.reads(), 1);
  assert.equal(isUnparsed(def), false);
  const expected = parseSnapshotXML(XML, { redefine: true }).def;
  assert.deepEqual({ ...def }, { ...expected, parent: 's1' });
});

test('writing a field parses first, so nothing parsed later overwrites it', () => {
  const xml = counted();
  const def = lazySnapshotDef('s2', undefined, xml.read);
  def.state = 'running';
  def.description = 'new';
  assert.equal(xml.reads(), 1);
  assert.equal(def.state, 'running');
  assert.equal(def.description, 'new');
  assert.equal(def.parent, undefined);
  assert.deepEqual(def.disks.map((d) => d.name), ['vda']);
});
