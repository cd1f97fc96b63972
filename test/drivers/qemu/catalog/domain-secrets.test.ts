/**
 * A domain's secrets (a graphics password) are kept in its stored definition and shown
 * only with VIR_DOMAIN_XML_SECURE (`dumpxml --security-info`), as libvirt does: in the
 * domain's XML and in its snapshots' `<domain>`, in this process and in a new one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureXmlParser } from '../../../../src/conf/xml-parse.js';
import { domainXml, makeImages } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { virsh } from '../../../conf/oracle.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

await ensureXmlParser();

const SECURE = 0x1;
const PASSWORD = /<graphics type='vnc' port='-1' passwd='s3cret'\/>/;

test('a graphics password survives define and snapshot, shown only with the secure flag', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const xml = domainXml('vnc', await makeImages(env.imageDir, 'vnc', ['qcow2']))
    .replace('</devices>', "  <graphics type='vnc' port='-1' passwd='s3cret'/>\n  </devices>");
  // libvirt's own behaviour, from its test driver.
  const file = join(env.tmp.path, 'vnc.xml');
  await writeFile(file, xml);
  const oracle = virsh(`define ${file}; dumpxml vnc --security-info; dumpxml vnc`);
  assert.match(oracle.stdout, /passwd='s3cret'/);
  assert.equal(oracle.stdout.match(/passwd=/g)?.length, 1, 'only the --security-info dump shows it');

  const dom = await env.conn.domainDefineXML(xml);
  await dom.snapshotCreateXML('<domainsnapshot><name>p1</name></domainsnapshot>');
  for (const fresh of [false, true]) {
    const conn = fresh ? await env.reopen() : env.conn;
    const d = await conn.domainLookupByName('vnc');
    assert.match(await d.getXMLDesc(SECURE), PASSWORD);
    assert.doesNotMatch(await d.getXMLDesc(0), /passwd/);
    assert.match(await d.getXMLDesc(0), /<graphics type='vnc' port='-1'\/>/);
    const p1 = await d.snapshotLookupByName('p1');
    assert.match(await p1.getXMLDesc(SECURE), PASSWORD);
    assert.doesNotMatch(await p1.getXMLDesc(0), /passwd/);
  }
});
