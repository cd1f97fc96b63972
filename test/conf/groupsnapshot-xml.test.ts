/**
 * The `<groupsnapshot>` a caller gives (snapvirt's own document): a name is required, a
 * description and `<memory snapshot='no|external'/>` are optional, anything else in
 * `<memory>` is an XML error; the printed document round-trips its fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGroupSnapshotXML, parseGroupSnapshotXML } from '../../src/conf/groupsnapshot-xml.js';

test('a group request: name, description and memory mode', () => {
  assert.deepEqual(parseGroupSnapshotXML('<groupsnapshot><name>g</name></groupsnapshot>'), { name: 'g' });
  assert.deepEqual(
    parseGroupSnapshotXML("<groupsnapshot><name>g</name><description>d</description><memory snapshot='no'/></groupsnapshot>"),
    { name: 'g', description: 'd', memory: 'no' },
  );
  assert.deepEqual(parseGroupSnapshotXML("<groupsnapshot><name>g</name><memory snapshot='external'/></groupsnapshot>"), { name: 'g', memory: 'external' });
});

test('a group request without a name, or with an unknown memory mode, is an XML error', () => {
  assert.throws(() => parseGroupSnapshotXML('<groupsnapshot/>'), /a group snapshot must have a name/);
  assert.throws(() => parseGroupSnapshotXML("<groupsnapshot><name>g</name><memory snapshot='internal'/></groupsnapshot>"),
    /unknown memory snapshot mode 'internal' \(no or external\)/);
  assert.throws(() => parseGroupSnapshotXML('<groupsnapshot><name>g</name><memory/></groupsnapshot>'), /unknown memory snapshot mode ''/);
});

test('the printed group names its state and members', () => {
  const xml = formatGroupSnapshotXML({
    name: 'g', description: null, state: 'running', creationTime: 1733550000,
    members: [{ domainName: 'a', domainUuid: '11111111-1111-1111-1111-111111111111', snapshotName: 'g' }],
  });
  assert.match(xml, /<state>running<\/state>/);
  assert.match(xml, /<domain name='a' uuid='11111111-1111-1111-1111-111111111111'\/>/);
  assert.deepEqual(parseGroupSnapshotXML(xml), { name: 'g' });
});
