/**
 * snapshotGetXMLDesc hands out a snapshot's stored XML as it is while the definition is
 * unparsed (lazy-snapshot-def.ts, unchangedSnapshotXml). That must be byte for byte what
 * formatting the parsed definition prints, with and without VIR_DOMAIN_SNAPSHOT_XML_SECURE,
 * for every kind of stored row: internal and external snapshots, escaped text, a snapshot
 * re-parented by a delete, a redefined one, and a domain whose graphics hold a password.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSnapshotXML } from '../../../../src/conf/snapshot-xml.js';
import { ensureXmlParser } from '../../../../src/conf/xml-parse.js';
import { lazySnapshotDef } from '../../../../src/drivers/qemu/catalog/lazy-snapshot-def.js';
import { openStore } from '../../../../src/store/index.js';
import { domainXml, makeImages } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';

await ensureXmlParser();

const SECURE = 0x1;

test('a stored snapshot\'s XML is handed out exactly as formatting its parsed definition prints it', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const plain = await env.conn.domainDefineXML(domainXml('plain', await makeImages(env.imageDir, 'plain', ['qcow2', 'qcow2'])));
  await plain.snapshotCreateXML('<domainsnapshot><name>s1</name><description>a &amp; b &lt;c&gt; é "q"</description></domainsnapshot>');
  await plain.snapshotCreateXML('<domainsnapshot><name>s2</name></domainsnapshot>');
  await plain.snapshotCreateXML('<domainsnapshot><name>s3</name></domainsnapshot>');
  await (await plain.snapshotLookupByName('s2')).delete(); // s3's row is rewritten under s1
  await plain.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', 0x10 /* DISK_ONLY */);
  const redefined = (await (await plain.snapshotLookupByName('s3')).getXMLDesc(SECURE))
    .replace('<name>s3</name>', '<name>r1</name>').replace('<domainsnapshot>', '<domainsnapshot>\n  <!-- kept? -->');
  await plain.snapshotCreateXML(redefined, 0x1 /* REDEFINE */);

  const withPassword = domainXml('vnc', await makeImages(env.imageDir, 'vnc', ['qcow2']))
    .replace('</devices>', "  <graphics type='vnc' port='-1' passwd='s3cret'/>\n  </devices>");
  const vnc = await env.conn.domainDefineXML(withPassword);
  await vnc.snapshotCreateXML('<domainsnapshot><name>p1</name></domainsnapshot>');

  // A fresh connection: every definition is unparsed, as in a new CLI process.
  const conn = await env.reopen();
  const store = openStore(env.stateDir);
  t.after(() => store.close());
  let verbatim = 0;
  for (const name of ['plain', 'vnc']) {
    const dom = await conn.domainLookupByName(name);
    const record = store.domains.getByName(name)!;
    for (const snapshot of await dom.listAllSnapshots()) {
      const row = store.snapshots.get(record.uuid, snapshot.getName())!;
      for (const flags of [0, SECURE]) {
        const formatted = formatSnapshotXML(lazySnapshotDef(row.name, row.parent ?? undefined, () => row.xml), { secure: flags === SECURE });
        const handedOut = await (await conn.domainLookupByName(name)).snapshotLookupByName(snapshot.getName()).then((s) => s.getXMLDesc(flags));
        assert.equal(handedOut, formatted, `${name}/${snapshot.getName()} flags ${flags}`);
        if (handedOut === row.xml) verbatim += 1;
      }
    }
  }
  const p1 = await (await conn.domainLookupByName('vnc')).snapshotLookupByName('p1');
  assert.doesNotMatch(await p1.getXMLDesc(0), /s3cret/);
  assert.match(await p1.getXMLDesc(SECURE), /passwd='s3cret'/);
  // Every plain row both ways (s1, s3, e1, r1), and p1 only with SECURE: its password is stripped otherwise.
  assert.equal(verbatim, 4 * 2 + 1);
});
