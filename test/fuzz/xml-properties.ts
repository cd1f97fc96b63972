/**
 * The XML parser fuzz properties (run by xml-parsers.fuzz.test.ts, each in a worker).
 * Hostile input for the XML parsers: parseXmlDocument, parseSnapshotXML
 * (plain, redefine, internal) and parseDomainXML get random text, mutated valid
 * documents, deep nesting, entity tricks (DOCTYPE, billion laughs, external entities,
 * bad character references), huge attributes and text decoded from invalid UTF-8 (and
 * lone surrogates). Each call must return or throw a VirError: never another exception,
 * never a crash. Seeded (fuzz-support.ts).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirErrorDomain } from '../../src/api/errors.js';
import { parseDomainXML } from '../../src/conf/domain-xml.js';
import { parseSnapshotXML } from '../../src/conf/snapshot-xml.js';
import { MAX_XML_DOCUMENT_BYTES, parseXmlDocument } from '../../src/conf/xml-parse.js';
import { cleanOutcome, fuzzParams } from './fuzz-support.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();


const DOMAIN_XML = `<domain type='qemu'>
  <name>vm</name>
  <uuid>31c5d4cf-3b4c-9038-f6f8-1e87d7a6a25c</uuid>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk' snapshot='internal'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/images/vm-0.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/sdb'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
  </devices>
</domain>
`;

const SNAPSHOT_XML = `<domainsnapshot>
  <name>s1</name>
  <description>before the upgrade &amp; more</description>
  <state>shutoff</state>
  <parent><name>base</name></parent>
  <creationTime>1700000000</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='external' type='file'>
      <driver type='qcow2'/>
      <source file='/var/lib/images/vm-0.s1'/>
    </disk>
    <disk name='vdb' snapshot='no'/>
  </disks>
  <active>1</active>
  ${DOMAIN_XML}</domainsnapshot>
`;

/** Every parser entry point, each one call on the text. */
const PARSERS: Array<[string, (xml: string) => unknown]> = [
  ['parseXmlDocument', (xml) => parseXmlDocument(xml, '(fuzz)', VirErrorDomain.DOMAIN_SNAPSHOT)],
  ['parseSnapshotXML', (xml) => parseSnapshotXML(xml, {})],
  ['parseSnapshotXML redefine', (xml) => parseSnapshotXML(xml, { redefine: true, offline: true })],
  ['parseSnapshotXML internal', (xml) => parseSnapshotXML(xml, { redefine: true, internal: true })],
  ['parseDomainXML', (xml) => parseDomainXML(xml)],
];

/** Runs every parser on `xml`; throws (failing the property) on an unclean outcome. */
function allParsersClean(xml: string): void {
  for (const [, parse] of PARSERS) cleanOutcome(() => parse(xml), xml);
}

/** Pieces that markup-aware mutations insert. */
const FRAGMENTS = [
  '<', '>', '</', '/>', '<!--', '-->', '<![CDATA[', ']]>', '<?xml version="1.0"?>', '<?pi x?>', '&', '&amp;', '&lt;',
  '&#0;', '&#x0;', '&#1;', '&#xD800;', '&#xFFFE;', '&#x110000;', '&#99999999999;', '&nope;', '&#', "'", '"', '=',
  ' snapshot="external"', " xmlns='urn:x'", ' xmlns:a="urn:a" a:b="c"', '<disk>', '</disk>', '<name>', '</name>',
  '<domain>', '</domain>', '<domainsnapshot>', '\u0000', '\u0001', '\u001b[31m', '\ud800', '\udfff', '\ufffe', '\ufeff',
  '\r\n', '\t', '😀', 'é', '<!DOCTYPE x [<!ENTITY a "b">]>', '<!ENTITY x SYSTEM "file:///etc/passwd">',
];

type Mutation = { at: number; kind: 'insert' | 'delete' | 'duplicate' | 'replace'; len: number; text: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  kind: fc.constantFrom('insert' as const, 'delete' as const, 'duplicate' as const, 'replace' as const),
  len: fc.integer({ min: 0, max: 40 }),
  text: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 })),
});

/** Applies `mutations` to `doc`, in order. */
function mutate(doc: string, mutations: Mutation[]): string {
  let s = doc;
  for (const m of mutations) {
    const at = Math.floor(m.at * s.length);
    if (m.kind === 'insert') s = s.slice(0, at) + m.text + s.slice(at);
    else if (m.kind === 'delete') s = s.slice(0, at) + s.slice(at + m.len);
    else if (m.kind === 'duplicate') s = s.slice(0, at + m.len) + s.slice(at, at + m.len) + s.slice(at + m.len);
    else s = s.slice(0, at) + m.text + s.slice(at + m.len);
  }
  return s;
}

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Property: random text: every parser returns or throws a VirError. */
export function randomText(): void {
  fc.assert(fc.property(
    fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: codeUnit, maxLength: 200 }),
      fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }).map((a) => a.join(''))),
    (xml) => { allParsersClean(xml); },
  ), fuzzParams(800));
}

/** Property: mutated valid snapshot and domain documents: every parser returns or throws a VirError. */
export function mutatedDocuments(): void {
  // The unmutated documents parse: the mutations start from valid input.
  parseSnapshotXML(SNAPSHOT_XML, { redefine: true, internal: true });
  parseDomainXML(DOMAIN_XML);
  fc.assert(fc.property(
    fc.constantFrom(SNAPSHOT_XML, DOMAIN_XML), fc.array(mutationArb, { minLength: 1, maxLength: 6 }),
    (doc, mutations) => { allParsersClean(mutate(doc, mutations)); },
  ), fuzzParams(1200));
}

/** Property: text decoded from invalid UTF-8 inside valid documents: a VirError or a parse. */
export function invalidUtf8(): void {
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.constantFrom('utf8' as const, 'latin1' as const), fc.double({ min: 0, max: 1, noNaN: true }),
    (bytes, encoding, where) => {
      const text = Buffer.from(bytes).toString(encoding);
      const at = Math.floor(where * SNAPSHOT_XML.length);
      allParsersClean(SNAPSHOT_XML.slice(0, at) + text + SNAPSHOT_XML.slice(at));
      allParsersClean(SNAPSHOT_XML.replace('<name>s1</name>', `<name>${text}</name>`));
    },
  ), fuzzParams(500));
}

/** Property: deep nesting, up to 200,000 levels: a VirError, no stack overflow. */
export function deepNesting(): void {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 200_000 }), fc.constantFrom('domainsnapshot', 'domain', 'a'), fc.boolean(),
    (depth, root, closed) => {
      const inner = '<a>'.repeat(depth) + (closed ? '</a>'.repeat(depth) : '');
      allParsersClean(`<${root}>${inner}</${root}>`);
    },
  ), fuzzParams(12));
}

/** Property: many elements (a flood of siblings) and huge attributes, up to past the size limit. */
export function hugeDocuments(): void {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: MAX_XML_DOCUMENT_BYTES + 1024 }), fc.constantFrom('name', 'file', 'other'),
    (size, where) => {
      const big = 'x'.repeat(size);
      const xml = where === 'name' ? `<domainsnapshot><name a='${big}'>n</name></domainsnapshot>`
        : where === 'file' ? SNAPSHOT_XML.replace('/var/lib/images/vm-0.s1', big)
          : `<domainsnapshot>${'<b/>'.repeat(Math.min(size, 300_000))}</domainsnapshot>`;
      allParsersClean(xml);
    },
  ), fuzzParams(6));
  // Exactly one byte over the limit is refused up front.
  const over = `<a>${'x'.repeat(MAX_XML_DOCUMENT_BYTES)}</a>`;
  assert.equal(cleanOutcome(() => parseXmlDocument(over, '(fuzz)', VirErrorDomain.XML), over), 'vir-error');
}

/** Property: entity tricks: DOCTYPEs, billion laughs, external and parameter entities are refused as VirErrors. */
export function entityTricks(): void {
  const laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol">' +
    Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
    ']><domainsnapshot><name>&lol9;</name></domainsnapshot>';
  const hostile = [
    laughs,
    '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><domainsnapshot><name>&x;</name></domainsnapshot>',
    '<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><domainsnapshot/>',
    '<?xml version="1.0"?><!-- c --><!doctype d SYSTEM "http://127.0.0.1:1/d.dtd"><domainsnapshot/>',
    '<domainsnapshot><name>&x;</name></domainsnapshot>',
    '<domainsnapshot><name>&#0;</name></domainsnapshot>',
  ];
  for (const xml of hostile) {
    for (const [name, parse] of PARSERS) assert.equal(cleanOutcome(() => parse(xml), xml), 'vir-error', `${name} accepted ${xml.slice(0, 60)}`);
  }
  fc.assert(fc.property(
    fc.constantFrom(...hostile), fc.array(mutationArb, { maxLength: 3 }),
    (doc, mutations) => { allParsersClean(mutate(doc, mutations)); },
  ), fuzzParams(200));
}
