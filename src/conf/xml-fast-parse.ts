/**
 * The fast reader for well-formed XML: saxes, a strict (conformant, namespace-aware)
 * XML 1.0 parser in plain JavaScript, which the bundled CLI loads from its code cache in
 * about a millisecond. libxml2-wasm costs a command 35–40 ms to load and compile, and its
 * WebAssembly tier-up competes with the command for this machine's two cores for another
 * 10–20 ms (docs/PERFORMANCE.md, finding 10), so a command that only reads definitions
 * snapvirt itself wrote should never pay for it.
 *
 * libxml2 stays the judge: this reader either builds exactly the tree the libxml2 path
 * would build, or declines (returns undefined) and libxml2 parses the text, accepts it
 * or reports the error in libvirt's words. It declines on every saxes error and on
 * whatever libxml2 could read differently: an XML declaration other than version 1.0,
 * processing instructions, a declaration of the xml prefix (a declared encoding changes
 * nothing: the text is read as UTF-8, as libvirt's libxml2 reads a string). Judging text from a caller, it also declines what
 * libxml2 might refuse where saxes does not: namespace names that are not plain URLs or
 * URNs, nesting near libxml2's depth limit, names or text near its length limits. Text
 * already accepted (stored definitions) is `vouched` for, and those are read as they are:
 * libxml2 builds the same tree from them. test/conf/xml-fast-parse.test.ts checks the two
 * agree, over the test corpus and random mutations of it.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { elementFromContent, type XmlElement, type XmlNode } from './xml-tree.js';

/** libxml2 refuses nesting deeper than 256 without XML_PARSE_HUGE: leave anything near it to libxml2. */
const MAX_DEPTH = 200;
/** libxml2's limits are 50,000 for names and 10,000,000 for text; well below them only. */
const MAX_NAME_LENGTH = 1000;
const MAX_TEXT_LENGTH = 1_000_000;

/** Namespace names any URI parser takes: http://host/path/… and urn:a:b (libvirt's are all such URLs). */
const PLAIN_NAMESPACE = /^(?:[a-z][a-z0-9+.-]*:\/\/[A-Za-z0-9.-]+(?:\/[A-Za-z0-9._~-]*)*|urn:[A-Za-z0-9._~:-]+)$/;

/** An element under construction: its name, attributes and children so far. */
interface OpenElement {
  name: string;
  attrs: Array<[string, string]>;
  children: XmlNode[];
  pendingText: string;
}

/** Thrown inside the saxes handlers to stop at something libxml2 must judge. */
class Decline extends Error {}

/**
 * The root element, built as parseXmlDocument's libxml2 path builds it, or undefined to let
 * libxml2 decide (also when the document has more than `maxElements` elements). `vouched`:
 * libxml2 or this reader already accepted the text, so its limits need no second look.
 */
export function fastParseXml(xml: string, maxElements: number, vouched = false): XmlElement | undefined {
  const limits = !vouched;
  let elementsLeft = maxElements;
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: OpenElement[] = [];
  let root: XmlElement | undefined;

  const decline = (): void => {
    throw new Decline();
  };
  // A DOCTYPE is refused by parseXmlDocument with its own error; saxes takes processing
  // instructions libxml2 refuses ("<?x?y?>"), and libvirt's XML has none.
  parser.on('doctype', decline);
  parser.on('processinginstruction', decline);
  parser.on('xmldecl', (decl) => {
    if (decl.version !== '1.0') throw new Decline();
    // The text is Unicode already: libvirt's libxml2 reads it as UTF-8 whatever the
    // declaration says (parseXmlDocument refuses a name libxml2 would not know).
  });
  const addText = (text: string): void => {
    const top = stack[stack.length - 1];
    if (!top) return; // whitespace around the root element
    top.pendingText += text;
    if (limits && top.pendingText.length > MAX_TEXT_LENGTH) throw new Decline();
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('opentag', (tag) => {
    // Over the element budget: libxml2 parses it all, then the budget error is raised (or its own error first).
    if (--elementsLeft < 0 || (limits && (stack.length >= MAX_DEPTH || tag.name.length > MAX_NAME_LENGTH))) throw new Decline();
    stack.push({ name: tag.name, attrs: attributesOf(tag, limits), children: [], pendingText: '' });
  });
  parser.on('closetag', () => {
    const open = stack.pop()!;
    if (open.pendingText) open.children.push({ text: open.pendingText });
    const element = elementFromContent(open.name, open.attrs, open.children);
    const parent = stack[stack.length - 1];
    if (!parent) {
      root = element;
      return;
    }
    if (parent.pendingText) parent.children.push({ text: parent.pendingText });
    parent.pendingText = '';
    parent.children.push(element);
  });

  try {
    parser.write(xml).close();
  } catch {
    return undefined; // a saxes error or a Decline: libxml2 decides
  }
  return root;
}

/**
 * The attributes in document order, then the namespace declarations in theirs: libxml2
 * keeps declarations apart from attributes, and the libxml2 path appends them. `limits`:
 * decline what libxml2 might refuse.
 */
function attributesOf(tag: SaxesTagNS, limits: boolean): Array<[string, string]> {
  const attrs: Array<[string, string]> = [];
  const declarations: Array<[string, string]> = [];
  for (const attr of Object.values(tag.attributes)) {
    if (limits && (attr.name.length > MAX_NAME_LENGTH || attr.value.length > MAX_TEXT_LENGTH)) throw new Decline();
    const isDeclaration = attr.name === 'xmlns' || attr.prefix === 'xmlns';
    // libxml2 drops a declaration of the predefined xml prefix, and refuses a namespace
    // name it does not parse as a URI: leave all but plain URLs and URNs to it.
    if (isDeclaration && attr.name === 'xmlns:xml') throw new Decline();
    if (limits && isDeclaration && !(PLAIN_NAMESPACE.test(attr.value) || (attr.value === '' && attr.name === 'xmlns'))) {
      throw new Decline();
    }
    (isDeclaration ? declarations : attrs).push([attr.name, attr.value]);
  }
  return [...attrs, ...declarations];
}
