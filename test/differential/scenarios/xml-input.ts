/**
 * XML input as libxml2 sees it: well-formedness errors (message, context line and caret),
 * encodings, entities, CDATA, comments, DOCTYPE and duplicate elements, for both snapshot
 * and domain documents.
 */
import type { Scenario } from '../scenario.js';

const d = 'xml';

/** Snapshot documents: each is created, then its description is dumped back. */
const snapshotDocs: Array<[string, string | Uint8Array]> = [
  ['unclosed attribute quote', '<domainsnapshot><name>q</name><memory snapshot="no/></domainsnapshot>'],
  ['undefined entity', '<domainsnapshot><name>q&foo;</name></domainsnapshot>'],
  ['two root elements', '<domainsnapshot><name>q</name></domainsnapshot><domainsnapshot/>'],
  ['text before the root', 'hello<domainsnapshot><name>q</name></domainsnapshot>'],
  ['declaration, comments and CDATA', '<?xml version="1.0" encoding="UTF-8"?>\n<!-- c -->\n<domainsnapshot>\n  <!-- inner -->\n  <name>q</name>\n  <description><![CDATA[a <b> & c]]></description>\n</domainsnapshot>\n'],
  ['character references', '<domainsnapshot><name>q</name><description>&#65;&#x42;&lt;&#233;</description></domainsnapshot>'],
  ['UTF-8 byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<domainsnapshot><name>q</name><description>bom</description></domainsnapshot>')])],
  ['second name element ignored', '<domainsnapshot><name>q</name><name>r</name><description>two</description></domainsnapshot>'],
  ['multi-line document with error on line 4', '<domainsnapshot>\n  <name>q</name>\n  <description>x</description>\n  <memory snapshot=internal/>\n</domainsnapshot>\n'],
  ['unknown attribute on the root', '<domainsnapshot foo="bar"><name>q</name><description>attr</description></domainsnapshot>'],
  ['non-ASCII description', '<domainsnapshot><name>q</name><description>café ☕ ünïcode</description></domainsnapshot>'],
];

/** Scenarios for XML input. */
export const xmlInputScenarios: Scenario[] = [
  ...snapshotDocs.map(([label, content]): Scenario => ({
    name: `${d}: snapshot ${label}`,
    commands: 'snapshot-create test x.xml; snapshot-dumpxml test q --xpath /domainsnapshot/description',
    files: { 'x.xml': { content } },
  })),
  {
    name: `${d}: snapshot internal DOCTYPE entity`,
    deviation: 'snapvirt refuses DOCTYPE and entity declarations in XML input (entity-expansion and external-entity safety); libvirt accepts internal entities',
    commands: 'snapshot-create test x.xml; snapshot-dumpxml test q --xpath /domainsnapshot/description',
    files: { 'x.xml': '<!DOCTYPE domainsnapshot [<!ENTITY e "ENT">]><domainsnapshot><name>q</name><description>&e;</description></domainsnapshot>' },
    expected: {
      stdout: '\n\n',
      stderr: "error: XML error: DOCTYPE and entity declarations are not allowed\nerror: Domain snapshot not found: no domain snapshot with matching name 'q'\n",
      code: 1,
    },
  },
  {
    name: `${d}: snapshot undeclared namespace prefix`,
    deviation: 'an undefined namespace prefix is an error in snapvirt; libvirt\'s libxml2 only warns and accepts the document (docs/COMPATIBILITY.md, XML input)',
    commands: 'snapshot-create test x.xml; snapshot-dumpxml test q --xpath /domainsnapshot/description',
    files: { 'x.xml': '<domainsnapshot><name>q</name><x:foo/></domainsnapshot>' },
    expected: {
      stdout: '\n\n',
      stderr: 'error: (domain_snapshot):1: Namespace prefix x on foo is not defined\n<domainsnapshot><name>q</name><x:foo/></domainsnapshot>\n------------------------------------^\n' +
        "error: Domain snapshot not found: no domain snapshot with matching name 'q'\n",
      code: 1,
    },
  },
  ...encodingScenarios(),
  { name: `${d}: name with surrounding spaces is kept`, commands: "snapshot-create test x.xml; snapshot-list test --name; snapshot-info test '  q  '", files: { 'x.xml': '<domainsnapshot><name>  q  </name></domainsnapshot>' } },
  { name: `${d}: domain unclosed tag`, commands: 'define bad.xml', files: { 'bad.xml': '<domain type="test">\n  <name>x</name>\n' } },
  { name: `${d}: domain undefined entity`, commands: 'define bad.xml', files: { 'bad.xml': '<domain type="test"><name>&x;</name></domain>' } },
  { name: `${d}: empty domain file`, commands: 'define bad.xml', files: { 'bad.xml': '' } },
  { name: `${d}: snapshot XML from a directory`, commands: 'snapshot-create test sub', files: { 'sub/placeholder': '' } },
  ...fileInputScenarios(),
];

/**
 * Files as virsh's virFileReadAll reads them: at most 10 MiB (VSH_MAX_XML_FILE), the limit
 * applied while reading, so a device that never ends (/dev/zero) fails at once.
 */
function fileInputScenarios(): Scenario[] {
  const limit = 10 * 1024 * 1024;
  const justOver = new Uint8Array(limit + 1).fill(0x20);
  const scenarios: Scenario[] = [];
  for (const [cmd, doc] of [['define', 'domain'], ['create', 'domain'], ['snapshot-create test', 'snapshot']] as const) {
    scenarios.push(
      { name: `${d}: ${cmd} from /dev/zero`, commands: `${cmd} /dev/zero` },
      { name: `${d}: ${cmd} from a file one byte over 10 MiB`, commands: `${cmd} big.xml`, files: { 'big.xml': { content: justOver } } },
      { name: `${d}: ${cmd} from /dev/null`, commands: `${cmd} /dev/null` },
    );
    if (doc === 'domain') scenarios.push({ name: `${d}: ${cmd} from a directory`, commands: `${cmd} sub`, files: { 'sub/placeholder': '' } });
  }
  const exactly = `<domainsnapshot><name>q</name></domainsnapshot>`;
  scenarios.push({
    name: `${d}: snapshot XML of exactly 10 MiB is read`,
    commands: 'snapshot-create test ten.xml; snapshot-list test --name',
    files: { 'ten.xml': { content: Buffer.concat([Buffer.from(exactly), Buffer.alloc(limit - exactly.length, 0x20)]) } },
  });
  return scenarios;
}

/**
 * Bytes that are not UTF-8, in files and in arguments: libvirt hands libxml2 a C string
 * and ignores the declared encoding for decoding, so invalid bytes are libxml2's "Input is
 * not proper UTF-8" error (context line with the raw bytes), whatever the declaration says.
 */
function encodingScenarios(): Scenario[] {
  const latin1 = (text: string): { content: Uint8Array } => ({ content: Buffer.from(text, 'latin1') });
  const create = 'snapshot-create test x.xml; snapshot-list test --name';
  return [
    { name: `${d}: snapshot invalid UTF-8`, commands: create, files: { 'x.xml': latin1('<domainsnapshot><name>q</name><description>caf\xe9</description></domainsnapshot>') } },
    { name: `${d}: snapshot ISO-8859-1 declared with Latin-1 bytes`, commands: create, files: { 'x.xml': latin1('<?xml version="1.0" encoding="ISO-8859-1"?><domainsnapshot><name>q</name><description>caf\xe9</description></domainsnapshot>') } },
    { name: `${d}: snapshot invalid UTF-8 in the name`, commands: create, files: { 'x.xml': latin1('<domainsnapshot><name>bad\xff\xfename</name></domainsnapshot>') } },
    { name: `${d}: snapshot invalid UTF-8 on line 3 after non-ASCII text`, commands: create, files: { 'x.xml': latin1('<domainsnapshot>\n  <name>q</name>\n  <description>\xc3\xa9t\xe9</description>\n</domainsnapshot>\n') } },
    { name: `${d}: snapshot invalid UTF-8 in an attribute and a comment`, commands: create, files: { 'x.xml': latin1('<domainsnapshot><!-- \xe9\xe9 --><name a="\xff">q</name></domainsnapshot>') } },
    { name: `${d}: snapshot truncated and overlong sequences`, commands: 'snapshot-create test a.xml; snapshot-create test b.xml; snapshot-list test --name', files: {
      'a.xml': latin1('<domainsnapshot><name>q\xc3</name></domainsnapshot>'), 'b.xml': latin1('<domainsnapshot><name>q\xc0\xaf</name></domainsnapshot>') } },
    { name: `${d}: snapshot UTF-8-encoded surrogate`, commands: create, files: { 'x.xml': latin1('<domainsnapshot><name>q\xed\xa0\x80</name></domainsnapshot>') } },
    { name: `${d}: snapshot invalid byte after the root element`, commands: create, files: { 'x.xml': latin1('<domainsnapshot><name>q</name></domainsnapshot>\n\xff\xff\xff\xff\xff\n') } },
    { name: `${d}: snapshot invalid byte near the end`, commands: create, files: { 'x.xml': latin1('<domainsnapshot><name>q</name></domainsnapsho\xff>') } },
    { name: `${d}: snapshot bytes after a NUL are not read`, commands: create, files: { 'x.xml': latin1('<domainsnapshot><name>q</name></domainsnapshot>\0\xff\xff garbage') } },
    ...['ISO-8859-1', 'US-ASCII', 'UTF-16', 'windows-1252', 'latin1', 'bogus', 'x-unknown-8'].map((encoding): Scenario => ({
      name: `${d}: snapshot declared ${encoding} with UTF-8 bytes (read as UTF-8, an unknown name refused)`,
      commands: 'snapshot-create test x.xml; snapshot-dumpxml test q --xpath /domainsnapshot/description',
      files: { 'x.xml': `<?xml version="1.0" encoding="${encoding}"?>\n<domainsnapshot><name>q</name><description>caf\u00e9 \u2615</description></domainsnapshot>` },
    })),
    { name: `${d}: domain invalid UTF-8`, commands: 'define x.xml; list --all --name', files: { 'x.xml': latin1("<domain type='test'><name>d\xe9</name><memory>1024</memory><os><type>hvm</type></os></domain>") } },
  ];
}
