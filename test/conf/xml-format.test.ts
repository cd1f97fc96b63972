import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VirErrorDomain } from '../../src/api/errors.js';
import { escapeXml, formatElement, formatXmlDocument } from '../../src/conf/xml-format.js';
import { ensureXmlParser, parseXmlDocument } from '../../src/conf/xml-parse.js';
import { cloneElement, isElement, makeElement, type XmlElement, type XmlNode } from '../../src/conf/xml-tree.js';
import { xmllintValidates } from './oracle.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

describe('escapeXml (virBufferEscapeString)', () => {
  it('escapes the five XML specials with libvirt\'s entity names', () => {
    assert.equal(escapeXml(`a & < ' " > z`), 'a &amp; &lt; &apos; &quot; &gt; z');
  });
  it('keeps tab, newline, carriage return and non-ASCII; drops other control characters', () => {
    assert.equal(escapeXml('a\tb\nc\rd\u0001e\u001ff€😀'), 'a\tb\nc\rdef€😀');
  });
});

describe('formatElement layout', () => {
  it('indents by two, single-quotes attributes, self-closes empty elements, keeps text on one line', () => {
    const tree = makeElement('a', [['x', "it's"]], [
      makeElement('b', [], ['text']),
      makeElement('c', [['k', 'v']]),
      makeElement('d', [], [makeElement('e', [], ['deep'])]),
    ]);
    assert.equal(formatXmlDocument(tree), [
      "<a x='it&apos;s'>",
      '  <b>text</b>',
      "  <c k='v'/>",
      '  <d>',
      '    <e>deep</e>',
      '  </d>',
      '</a>',
      '',
    ].join('\n'));
  });
  it('writes mixed content inline so no whitespace is added to it', () => {
    const tree = makeElement('p', [], ['one ', makeElement('b', [], ['two']), ' three', makeElement('br')]);
    assert.equal(formatElement(tree, 2), '  <p>one <b>two</b> three<br/></p>\n');
  });
  it('produces a valid domainsnapshot document for xmllint', () => {
    const tree = makeElement('domainsnapshot', [], [
      makeElement('name', [], ['s & <1>']),
      makeElement('description', [], ['multi\nline \'quoted\' "text"']),
    ]);
    const result = xmllintValidates(formatXmlDocument(tree), 'domainsnapshot');
    assert.ok(result.ok, result.output);
  });
});

const NAME_START = 'abcdefghijklmnopqrstuvwxyz_';
const NAME_REST = `${NAME_START}0123456789-.`;
const nameArb = fc
  .tuple(fc.constantFrom(...NAME_START), fc.array(fc.constantFrom(...NAME_REST), { maxLength: 6 }))
  .map(([first, rest]) => first + rest.join(''));
const TEXT_CHARS = ['a', 'Z', '0', ' ', '&', '<', '>', "'", '"', '\n', '\t', ';', '#', 'é', '€', '😀', '\u0001', ']]>'];
const ATTR_CHARS = TEXT_CHARS.filter((c) => c !== '\n' && c !== '\t');
const textArb = fc
  .array(fc.constantFrom(...TEXT_CHARS), { minLength: 1, maxLength: 12 })
  .map((chars) => `x${chars.join('')}`); // never blank: blank text between elements is layout
const attrValueArb = fc.array(fc.constantFrom(...ATTR_CHARS), { maxLength: 10 }).map((c) => c.join(''));
const attrsArb = fc
  .uniqueArray(fc.tuple(nameArb, attrValueArb), { selector: ([k]) => k, maxLength: 4 })
  .map((pairs) => pairs.map(([k, v]) => [k, v] as [string, string]));

/** Element trees up to `depth` levels below the root. */
function elementArb(depth: number): fc.Arbitrary<XmlElement> {
  const textNode = textArb.map((text): XmlNode => ({ text }));
  const child: fc.Arbitrary<XmlNode> = depth === 0 ? textNode : fc.oneof(elementArb(depth - 1), textNode);
  return fc.record({ name: nameArb, attrs: attrsArb, children: fc.array(child, { maxLength: 4 }) });
}
const treeArb = elementArb(4);

/** The tree a parser returns for `el`: adjacent text merged, dropped control characters gone. */
function normalise(el: XmlElement): XmlElement {
  const children: XmlNode[] = [];
  for (const child of el.children) {
    const last = children[children.length - 1];
    if (isElement(child)) children.push(normalise(child));
    else if (last && !isElement(last)) last.text += child.text.replace(/\u0001/g, '');
    else children.push({ text: child.text.replace(/\u0001/g, '') });
  }
  return {
    name: el.name,
    attrs: el.attrs.map(([k, v]) => [k, v.replace(/\u0001/g, '')] as [string, string]),
    children,
  };
}

describe('format -> parse -> format (property)', () => {
  it('random element trees survive unchanged', () => {
    fc.assert(
      fc.property(treeArb, (tree) => {
        const once = formatXmlDocument(tree);
        const parsed = parseXmlDocument(once, 'prop', VirErrorDomain.DOMAIN);
        assert.deepEqual(parsed, normalise(cloneElement(tree)));
        assert.equal(formatXmlDocument(parsed), once);
      }),
      { numRuns: 300 },
    );
  });
});
