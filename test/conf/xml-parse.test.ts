import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirError, VirErrorCode, VirErrorDomain } from '../../src/api/errors.js';
import { ensureXmlParser, parseXmlDocument, parseXmlWithLibxml2 } from '../../src/conf/xml-parse.js';
import { attrValue, childElement, childElements, textContent } from '../../src/conf/xml-tree.js';
import { scratchFile, virsh, virshErrorMessage } from './oracle.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

/** Malformed documents whose error virsh must print byte for byte as we do. */
const MALFORMED: Array<[string, string]> = [
  ['truncated', '<domainsnapshot>\n  <name>x</name>\n'],
  ['truncated without newline', '<domainsnapshot>\n  <name>x</name>'],
  ['mismatched tag', '<domainsnapshot><name>x</nam></domainsnapshot>\n'],
  ['mismatched tag after a tab', '<domainsnapshot>\n\t<name>x</nam>\n</domainsnapshot>\n'],
  ['garbage', 'garbage here\n'],
  ['empty file', ''],
  ['whitespace only', '  \n\n'],
  ['bare ampersand', '<domainsnapshot>\n<name>a & b</name>\n</domainsnapshot>\n'],
  ['unquoted attribute', '<domainsnapshot><name a=1>x</name></domainsnapshot>'],
  ['extra content after root', '<domainsnapshot/>\n<x/>\n'],
  ['undeclared entity', '<domainsnapshot><name>&nope;</name></domainsnapshot>\n'],
  ['unclosed comment', '<domainsnapshot><!-- x </domainsnapshot>\n'],
  ['windows line ends', '<domainsnapshot>\r\n<name>x</nam>\r\n</domainsnapshot>\r\n'],
  ['multi-byte characters before the error', '<domainsnapshot>\n  <name>é😀</nam>\n</domainsnapshot>\n'],
  ['byte order mark', '\ufeff<domainsnapshot><name>x</nam></domainsnapshot>'],
  ['duplicate attribute', "<domainsnapshot><name a='1' a='2'>x</name></domainsnapshot>"],
  ['bad element name', '<domainsnapshot><1a/></domainsnapshot>'],
  ['< in an attribute', "<domainsnapshot a='<'/>"],
  ['unsupported XML version', "<?xml version='2.0'?><domainsnapshot/>"],
  ['unterminated CDATA', '<domainsnapshot><![CDATA[x</domainsnapshot>'],
  ['control character', '<domainsnapshot><name>\u0001</name></domainsnapshot>'],
  ['trailing unterminated comment', '<domainsnapshot><name>x</name></domainsnapshot><!-- trailing'],
];

function parseError(xml: string, docName = '(domain_snapshot)', domain: VirErrorDomain = VirErrorDomain.DOMAIN_SNAPSHOT): VirError {
  try {
    parseXmlDocument(xml, docName, domain);
  } catch (err) {
    assert.ok(err instanceof VirError, `expected a VirError, got ${String(err)}`);
    return err;
  }
  assert.fail('parse unexpectedly succeeded');
}

describe('parseXmlDocument: malformed XML is reported exactly as libvirt reports it', () => {
  for (const [label, xml] of MALFORMED) {
    it(`snapshot XML, ${label}`, () => {
      const expected = virshErrorMessage(virsh(`snapshot-create test --xmlfile ${scratchFile(xml)}`).stderr);
      const err = parseError(xml);
      assert.equal(err.message, expected);
      assert.equal(err.code, VirErrorCode.XML_DETAIL);
      assert.equal(err.domain, VirErrorDomain.DOMAIN_SNAPSHOT);
    });
  }
  for (const [label, xml] of MALFORMED.slice(0, 4)) {
    it(`domain XML (define), ${label}`, () => {
      const expected = virshErrorMessage(virsh(`define ${scratchFile(xml)}`).stderr);
      const err = parseError(xml, '(domain_definition)', VirErrorDomain.DOMAIN);
      assert.equal(err.message, expected);
      assert.equal(err.domain, VirErrorDomain.DOMAIN);
    });
  }
  it('words the truncated document like libvirt, with the (null) context line', () => {
    assert.equal(
      parseError('<domainsnapshot>\n  <name>x</name>\n').message,
      '(domain_snapshot):3: Premature end of data in tag domainsnapshot line 1\n(null)\n^',
    );
  });
  it('checks the root element when asked, with libvirt\'s XML error', () => {
    const expected = virshErrorMessage(virsh(`snapshot-create test --xmlfile ${scratchFile('<domain/>')}`).stderr);
    try {
      parseXmlDocument('<domain/>', '(domain_snapshot)', VirErrorDomain.DOMAIN_SNAPSHOT, 'domainsnapshot');
      assert.fail('accepted the wrong root');
    } catch (err) {
      assert.ok(err instanceof VirError);
      assert.equal(err.message, expected);
      assert.equal(err.message, "XML error: expecting root element of 'domainsnapshot', not 'domain'");
      assert.equal(err.code, VirErrorCode.XML_ERROR);
      assert.equal(err.domain, VirErrorDomain.XML);
    }
  });
});

describe('parseXmlDocument: tree', () => {
  it('keeps attributes in order, merges CDATA into text, drops comments and layout whitespace', () => {
    const root = parseXmlDocument(
      "<a x='1' y=\"2\"><!-- c -->\n  <b>t<![CDATA[<u>]]>v</b>\n  <c/>\n  <?pi x?>\n</a>",
      'doc', VirErrorDomain.DOMAIN_SNAPSHOT,
    );
    assert.deepEqual(root.attrs, [['x', '1'], ['y', '2']]);
    assert.deepEqual(childElements(root).map((e) => e.name), ['b', 'c']);
    const b = childElement(root, 'b');
    assert.ok(b);
    assert.equal(textContent(b), 't<u>v');
    assert.equal(b.children.length, 1);
  });
  it('keeps whitespace-only text of a text-only element', () => {
    const root = parseXmlDocument('<a><d>  </d></a>', 'doc', VirErrorDomain.DOMAIN_SNAPSHOT);
    const d = childElement(root, 'd');
    assert.ok(d);
    assert.equal(textContent(d), '  ');
  });
  it('keeps namespace prefixes and declarations', () => {
    const root = parseXmlDocument(
      "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:commandline><qemu:arg value='-x'/></qemu:commandline></domain>",
      'doc', VirErrorDomain.DOMAIN,
    );
    assert.deepEqual(root.attrs, [['type', 'kvm'], ['xmlns:qemu', 'http://libvirt.org/schemas/domain/qemu/1.0']]);
    const cmd = childElement(root, 'qemu:commandline');
    assert.ok(cmd);
    const arg = childElement(cmd, 'qemu:arg');
    assert.ok(arg);
    assert.equal(attrValue(arg, 'value'), '-x');
  });
  it('keeps what follows a processing instruction, on both paths (libxml2-wasm gives a PI no next sibling)', () => {
    const xml = '<a>t1<?pi data?>t2<b/><!--c--><?xml-stylesheet x?><c>v</c></a>';
    const expected = { name: 'a', attrs: [], children: [{ text: 't1t2' }, { name: 'b', attrs: [], children: [] }, { name: 'c', attrs: [], children: [{ text: 'v' }] }] };
    assert.deepEqual(parseXmlDocument(xml, 'doc', VirErrorDomain.DOMAIN), expected);
    assert.deepEqual(parseXmlWithLibxml2(xml, 'doc', VirErrorDomain.DOMAIN, undefined, 100), expected);
  });
  it('decodes character references and predefined entities', () => {
    const root = parseXmlDocument('<a v="&lt;&#65;&apos;">&amp;&#x42;&gt;</a>', 'doc', VirErrorDomain.DOMAIN);
    assert.equal(attrValue(root, 'v'), "<A'");
    assert.equal(textContent(root), '&B>');
  });
});

describe('parseXmlDocument: hostile input is refused quickly with a VirError', () => {
  it('refuses a billion laughs document (DOCTYPE with nested entities)', () => {
    let dtd = '<!ENTITY lol0 "lol">';
    for (let i = 1; i <= 9; i++) dtd += `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`;
    const xml = `<?xml version="1.0"?>\n<!DOCTYPE domainsnapshot [${dtd}]>\n<domainsnapshot><name>&lol9;</name></domainsnapshot>`;
    const err = parseError(xml);
    assert.equal(err.code, VirErrorCode.XML_ERROR);
    assert.equal(err.message, 'XML error: DOCTYPE and entity declarations are not allowed');
  });
  it('refuses a DOCTYPE after a comment and an external entity', () => {
    const err = parseError('<!-- hi --><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>');
    assert.equal(err.message, 'XML error: DOCTYPE and entity declarations are not allowed');
  });
  it('refuses nesting deeper than libxml2\'s limit (100k levels)', () => {
    const depth = 100_000;
    const xml = `${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}`;
    const err = parseError(xml);
    assert.equal(err.code, VirErrorCode.XML_DETAIL);
    assert.match(err.message, /^\(domain_snapshot\):1: Excessive depth in document: 256 use XML_PARSE_HUGE option\n/);
  });
  it('words excessive depth exactly as virsh does', () => {
    const xml = `<domainsnapshot>${'<a>'.repeat(300)}${'</a>'.repeat(300)}</domainsnapshot>`;
    const expected = virshErrorMessage(virsh(`snapshot-create test --xmlfile ${scratchFile(xml)}`).stderr);
    assert.equal(parseError(xml).message, expected);
  });
  it('accepts nesting at 200 levels', () => {
    const xml = `${'<a>'.repeat(200)}x${'</a>'.repeat(200)}`;
    assert.equal(parseXmlDocument(xml, 'doc', VirErrorDomain.DOMAIN).name, 'a');
  });
  it('refuses a 20 MiB document before parsing it', () => {
    const xml = `<domainsnapshot><description>${'x'.repeat(20 * 1024 * 1024)}</description></domainsnapshot>`;
    const err = parseError(xml);
    assert.equal(err.code, VirErrorCode.XML_ERROR);
    assert.equal(err.message, 'XML error: document is larger than the maximum of 10485760 bytes');
  });
  it('refuses a flood of small elements', () => {
    const err = parseError(`<domainsnapshot>${'<a/>'.repeat(150_000)}</domainsnapshot>`);
    assert.equal(err.code, VirErrorCode.XML_ERROR);
    assert.equal(err.message, 'XML error: document has more than 100000 elements');
  });
  it('counts bytes, not characters, against the size limit', () => {
    // 4 MiB characters of 3 UTF-8 bytes each: 12 MiB.
    const err = parseError(`<d>${'€'.repeat(4 * 1024 * 1024)}</d>`);
    assert.equal(err.code, VirErrorCode.XML_ERROR);
  });
});
