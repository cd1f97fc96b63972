/**
 * The XPath subset answered from snapvirt's tree (src/cli/xml-simple-path.ts) against
 * libxml2's own XPath, parsed without blanks as virsh parses: every expression virsh's
 * commands ask, and others around them, over snapshot and domain documents.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { xpathBoolean, xpathStrings } from '../../src/cli/xml-query.js';
import { simpleBoolean, simpleString } from '../../src/cli/xml-simple-path.js';
import { fastParseXml } from '../../src/conf/xml-fast-parse.js';
import { ensureXmlParser, MAX_XML_ELEMENTS } from '../../src/conf/xml-parse.js';

const lib = await ensureXmlParser();

const fixtureDir = new URL('../../../test/fixtures/differential/', import.meta.url).pathname;
const FIXTURES = readdirSync(fixtureDir).filter((f) => f.endsWith('.xml')).map((f) => readFileSync(fixtureDir + f, 'utf8'));

const SNAPSHOT = `<domainsnapshot>
  <name>s1</name>
  <description>  </description>
  <state>disk-snapshot</state>
  <parent>
    <name>s0</name>
  </parent>
  <creationTime>1700000000</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='internal'/>
    <disk name='vdb' snapshot="external" type='file'>
      <source file='/x/b.s1'/>
    </disk>
  </disks>
  <domain type='qemu'><name>vm</name><title>a &amp; b</title></domain>
</domainsnapshot>
`;

const DOCS = [SNAPSHOT, SNAPSHOT.replace("snapshot='no'", "snapshot='external' file='/m'"), '<domain><title>  t  </title></domain>', ...FIXTURES];

const STRING_EXPRS = [
  '/domainsnapshot/parent/name', '/domainsnapshot/state', '/domainsnapshot/creationTime', '/domain/title',
  '/domainsnapshot/description', '/domainsnapshot/name', '/domainsnapshot/disks/disk', "/domainsnapshot/disks/disk[@snapshot='external']",
  '/domainsnapshot/domain/title', '/domainsnapshot/memory', '/domainsnapshot/parent', '/nothing/here', '//name', 'name', '/domain/name/text()',
];
const BOOLEAN_EXPRS = [
  '/domainsnapshot/memory',
  "/domainsnapshot/memory[@snapshot='external'] | /domainsnapshot/disks/disk[@snapshot='external']",
  "/domainsnapshot/memory[@snapshot='no']", '/domainsnapshot/disks/disk[@snapshot="internal"]', '/domainsnapshot/nothing',
  "/domainsnapshot/disks/disk[@snapshot='a|b']", '/domain/devices/disk', 'count(/domain)',
];

/** libxml2's answer, as xml-query asked it before the subset existed. */
function libxml2Eval(xml: string, expr: string): string | boolean | number | unknown[] {
  const doc = lib.XmlDocument.fromString(xml, { option: lib.ParseOption.XML_PARSE_NOBLANKS });
  try {
    return doc.eval(expr) as string | boolean | number | unknown[];
  } finally {
    doc.dispose();
  }
}

describe('XPath subset answered without libxml2', () => {
  it('gives libxml2\'s string() and boolean() wherever it answers, and answers the expressions virsh asks', () => {
    let answered = 0;
    for (const xml of DOCS) {
      const tree = fastParseXml(xml, MAX_XML_ELEMENTS);
      assert.ok(tree, 'the fast reader takes every document here');
      for (const expr of STRING_EXPRS) {
        const mine = simpleString(tree, expr);
        if (mine === undefined) continue;
        answered += 1;
        assert.equal(mine, libxml2Eval(xml, `string(${expr})`), `${expr} on ${xml.slice(0, 80)}`);
      }
      for (const expr of BOOLEAN_EXPRS) {
        const mine = simpleBoolean(tree, expr);
        if (mine === undefined) continue;
        answered += 1;
        assert.equal(mine, libxml2Eval(xml, `boolean(${expr})`), `${expr} on ${xml.slice(0, 80)}`);
      }
    }
    assert.ok(answered > DOCS.length * 10);
    const tree = fastParseXml(SNAPSHOT, MAX_XML_ELEMENTS)!;
    for (const expr of STRING_EXPRS.slice(0, 4)) assert.notEqual(simpleString(tree, expr), undefined, expr);
    for (const expr of BOOLEAN_EXPRS.slice(0, 2)) assert.notEqual(simpleBoolean(tree, expr), undefined, expr);
  });

  it('leaves to libxml2 what is outside the subset, with the same answers through xml-query', async () => {
    const tree = fastParseXml(SNAPSHOT, MAX_XML_ELEMENTS)!;
    for (const expr of ['//name', 'name', '/domain/name/text()', '/domainsnapshot/parent', "/domainsnapshot/disks/disk[@snapshot='a|b']"]) {
      assert.equal(expr.includes('|') ? simpleBoolean(tree, expr) : simpleString(tree, expr), undefined, expr);
    }
    assert.deepEqual(await xpathStrings(SNAPSHOT, ['//name', '/domainsnapshot/parent', '/domainsnapshot/state']), ['s1', 's0', 'disk-snapshot']);
    assert.equal(await xpathBoolean(SNAPSHOT, 'count(/domainsnapshot/disks/disk) = 2'), true);
  });
});
