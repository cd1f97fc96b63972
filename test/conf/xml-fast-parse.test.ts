/**
 * The fast XML reader against libxml2: whatever saxes reads must be exactly the tree the
 * libxml2 path builds, and a text libxml2 refuses must never be read by saxes. Checked over
 * the test fixtures, libvirt's own XML files (cpu_map and the RelaxNG schemas), edge cases
 * and random mutations of all of them; and the fast reader must actually take the
 * well-formed documents snapvirt writes, or its speed would silently vanish.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VirErrorDomain } from '../../src/api/errors.js';
import { fastParseXml } from '../../src/conf/xml-fast-parse.js';
import { ensureXmlParser, MAX_XML_ELEMENTS, parseXmlWithLibxml2 } from '../../src/conf/xml-parse.js';
import type { XmlElement } from '../../src/conf/xml-tree.js';
import { fuzzParams } from '../fuzz/fuzz-support.js';

await ensureXmlParser();

function xmlFilesUnder(dir: string): string[] {
  let out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out = out.concat(xmlFilesUnder(path));
    else if (/\.(xml|rng)$/.test(entry.name)) out.push(path);
  }
  return out;
}

const FIXTURES = xmlFilesUnder(new URL('../../../test/fixtures', import.meta.url).pathname);
const LIBVIRT_FILES = ['/usr/share/libvirt/cpu_map', '/usr/share/libvirt/schemas'].flatMap(xmlFilesUnder);

const EDGE_CASES = [
  '<a/>',
  '\ufeff<a/>',
  '<?xml version="1.0"?>\n<a/>\n',
  "<?xml version='1.0' encoding='UTF-8' standalone='yes'?><a/>",
  '<?xml version="1.0" encoding="utf-8"?><a>é</a>',
  '<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>',
  '<?xml version="1.1"?><a/>',
  '<a x="1&#10;2\n3\t4\r5" y=\'&lt;&amp;&gt;&quot;&apos;\'/>',
  '<a>x<!--c-->y<![CDATA[z<>&]]>w&#x1F600;&#233;</a>',
  '<a>\r\n  <b/>\r\n  <c>t</c>\r\n</a>',
  '<a>\n  text\n  <b/>\n</a>',
  '<a>  </a>',
  '<a><b>  </b><c/> </a>',
  '<a>\u0085\u2028</a>',
  '<a b="\u0085\u2028"/>',
  '<a xmlns="u" z="1" xmlns:q="v"><q:b q:c="1" d="2"/></a>',
  '<a xmlns:b="u"><b:c b:y="1" y="2"/></a>',
  '<a xmlns:b="u" xmlns:c="u"><x b:y="1" c:y="2"/></a>',
  '<a><b:c/></a>',
  '<a xmlns:b=""><b:c/></a>',
  '<a xml:lang="en" xmlns:xml="http://www.w3.org/XML/1998/namespace"/>',
  '<a xml:lang="en"/>',
  '<a xmlns:m="http://example.org:8080/ns?x=1#v1"><m:b/></a>',
  '<a xmlns:m="HTTP://Example.org/ns"/>',
  '<a xmlns="ht]tp://x"/>',
  '<a:b:c/>',
  '<a><?pi data?><b/><?xml-stylesheet x?></a>',
  '<!-- before --><a/><!-- after -->',
  '<a>&unknown;</a>',
  '<a>]]></a>',
  '<a b="1"b="2"/>',
  '<a b="1" b="2"/>',
  '<a>\u0001</a>',
  '<a>&#0;</a>',
  '<a/><b/>',
  '<a>',
  '',
  '   ',
  '<?xml version="1.0"?><!DOCTYPE a><a/>',
  `${'<d>'.repeat(255)}${'</d>'.repeat(255)}`,
  `${'<d>'.repeat(300)}${'</d>'.repeat(300)}`,
];

const CORPUS = [...EDGE_CASES, ...[...FIXTURES, ...LIBVIRT_FILES].map((f) => readFileSync(f, 'utf8'))];

/** The libxml2 path's tree, or undefined when libxml2 refuses the text. */
function libxml2Tree(xml: string): XmlElement | undefined {
  try {
    return parseXmlWithLibxml2(xml, '(test)', VirErrorDomain.XML, undefined, MAX_XML_ELEMENTS);
  } catch {
    return undefined;
  }
}

/**
 * The property: the fast reader declines, or builds libxml2's tree; and where libxml2
 * accepts the text (the only text it is vouched for), so does the vouched reading.
 */
function checkAgrees(xml: string): 'fast' | 'declined' {
  const fast = fastParseXml(xml, MAX_XML_ELEMENTS);
  const vouched = fastParseXml(xml, MAX_XML_ELEMENTS, true);
  const reference = fast || vouched ? libxml2Tree(xml) : undefined;
  if (vouched && reference) assert.deepEqual(vouched, reference, `vouched trees differ for ${JSON.stringify(xml.slice(0, 300))}`);
  if (fast === undefined) return 'declined';
  assert.ok(reference, `the fast reader read a text libxml2 refuses: ${JSON.stringify(xml.slice(0, 300))}`);
  assert.deepEqual(fast, reference, `trees differ for ${JSON.stringify(xml.slice(0, 300))}`);
  return 'fast';
}

/** Characters that make or break XML, for the mutations. */
const SPECIAL = ['<', '>', '&', '"', "'", '=', '/', '!', '?', '[', ']', ' ', '\n', '\r', '\t', ':', '-', '#', ';', 'x',
  '\u0085', '\u2028', '\ufeff', '\u0001', 'é', '\ud83d\ude00', '&amp;', '&#10;', '<![CDATA[', ']]>', '<!--', '-->', 'xmlns:', '</a>', '<b>'];

describe('fast XML reader (saxes) against libxml2', () => {
  it('agrees on every document of the corpus, and reads every well-formed one libxml2 reads the same way', () => {
    assert.ok(FIXTURES.length >= 30 && LIBVIRT_FILES.length >= 50, 'corpus present');
    for (const xml of CORPUS) checkAgrees(xml);
    // The speed matters only if the documents snapvirt handles really take the fast path.
    for (const xml of [...FIXTURES, ...LIBVIRT_FILES].map((f) => readFileSync(f, 'utf8'))) {
      if (libxml2Tree(xml)) assert.equal(checkAgrees(xml), 'fast', xml.slice(0, 200));
    }
  });

  it('declines what libxml2 must judge: errors, other versions, DOCTYPE, deep nesting, element floods', () => {
    const declined = (xml: string): boolean => fastParseXml(xml, MAX_XML_ELEMENTS) === undefined;
    assert.ok(declined('<a>'));
    assert.ok(declined('<a><b:c/></a>'));
    // A declared encoding changes nothing: libvirt's libxml2 reads its string as UTF-8.
    assert.deepEqual(fastParseXml('<?xml version="1.0" encoding="ISO-8859-1"?><a>\u00e9</a>', MAX_XML_ELEMENTS),
      fastParseXml('<a>\u00e9</a>', MAX_XML_ELEMENTS));
    assert.equal(checkAgrees('<?xml version="1.0" encoding="ISO-8859-1"?><a>\u00e9</a>'), 'fast');
    assert.ok(declined('<?xml version="1.1"?><a/>'));
    assert.ok(declined('<!DOCTYPE a><a/>'));
    assert.ok(declined(`${'<d>'.repeat(300)}${'</d>'.repeat(300)}`));
    assert.equal(fastParseXml('<a><b/><b/></a>', 2), undefined);
    assert.ok(fastParseXml('<a><b/><b/></a>', 3));
  });

  it('agrees on random mutations of the corpus', () => {
    const mutation = fc.record({
      doc: fc.integer({ min: 0, max: CORPUS.length - 1 }),
      edits: fc.array(fc.record({
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        kind: fc.constantFrom('insert', 'delete', 'duplicate'),
        text: fc.constantFrom(...SPECIAL),
        length: fc.integer({ min: 1, max: 12 }),
      }), { minLength: 1, maxLength: 3 }),
    });
    let fast = 0;
    fc.assert(fc.property(mutation, ({ doc, edits }) => {
      let xml = CORPUS[doc]!;
      if (xml.length > 20_000) xml = xml.slice(0, 20_000); // keeps the run short; truncation is one more mutation
      for (const e of edits) {
        const i = Math.floor(e.at * xml.length);
        if (e.kind === 'insert') xml = xml.slice(0, i) + e.text + xml.slice(i);
        else if (e.kind === 'delete') xml = xml.slice(0, i) + xml.slice(i + e.length);
        else xml = xml.slice(0, i) + xml.slice(i, i + e.length) + xml.slice(i);
      }
      if (checkAgrees(xml) === 'fast') fast += 1;
    }), { ...fuzzParams(10_000), includeErrorInReport: true });
    // Mutations that keep a document well-formed (in text, say) must still take the fast path.
    assert.ok(fast > 200, `only ${fast} mutated documents took the fast path`);
  });
});
