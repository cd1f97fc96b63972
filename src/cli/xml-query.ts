/**
 * The XML reading virsh does on the client side: XPath over a document the API returned
 * (snapshot-list's state and time, snapshot-info, dumpxml --xpath), with libxml2 itself
 * (libxml2-wasm), parsed without blank text nodes as virshDumpXML does. The simple paths
 * virsh's own commands ask are answered from snapvirt's tree when the fast reader takes
 * the document (xml-simple-path.ts), without loading libxml2.
 */
import type { XmlDocument, XmlNode } from 'libxml2-wasm';
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import { ensureXmlParser, readCallerXmlFast, type XmlLibrary } from '../conf/xml-parse.js';
import { simpleBoolean, simpleString } from './xml-simple-path.js';
import { escapeXml } from './output/escape.js';

// libxml2-wasm is loaded through ensureXmlParser(), the one place that imports it (the
// bundled CLI cannot import it statically: see bin/snapvirt), so these queries are async.
async function parse(xml: string): Promise<{ doc: XmlDocument; lib: XmlLibrary }> {
  const lib = await ensureXmlParser();
  return { doc: lib.XmlDocument.fromString(xml, { option: lib.ParseOption.XML_PARSE_NOBLANKS }), lib };
}

/** virXPathString: the string value of `expr`, or undefined when it is empty. */
export async function xpathString(xml: string, expr: string): Promise<string | undefined> {
  const [value] = await xpathStrings(xml, [expr]);
  return value;
}

/** Several virXPathString lookups over one parse of `xml`, in the order of `exprs`. */
export async function xpathStrings(xml: string, exprs: readonly string[]): Promise<Array<string | undefined>> {
  const tree = readCallerXmlFast(xml);
  const simple = tree ? exprs.map((expr) => simpleString(tree, expr)) : [];
  if (tree && simple.every((s) => s !== undefined)) return simple.map((s) => (s === '' ? undefined : s));
  const { doc } = await parse(xml);
  try {
    return exprs.map((expr) => {
      const result = doc.eval(`string(${expr})`);
      return typeof result === 'string' && result !== '' ? result : undefined;
    });
  } finally {
    doc.dispose();
  }
}

/** virXPathBoolean over `expr`. */
export async function xpathBoolean(xml: string, expr: string): Promise<boolean> {
  const tree = readCallerXmlFast(xml);
  const simple = tree ? simpleBoolean(tree, expr) : undefined;
  if (simple !== undefined) return simple;
  const { doc } = await parse(xml);
  try {
    return doc.eval(`boolean(${expr})`) === true;
  } finally {
    doc.dispose();
  }
}

/** How xmlNodeDump (format on, level 0) prints one node. */
function dumpNode(lib: XmlLibrary, node: XmlNode): string {
  if (node instanceof lib.XmlElement) return node.toString({ format: true });
  if (node instanceof lib.XmlAttribute) return ` ${node.name}="${escapeAttribute(node.content)}"`;
  return escapeXml(node.content);
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    .replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

/** What dumpxml --xpath prints: stdout text, libxml2's own diagnostics for stderr. */
export interface XPathDump { stdout: string; stderr: string }

/**
 * virshDumpXML: the nodes `xpath` selects, one per line, or wrapped in `<nodes>`.
 * A result that is not a node set is libvirt's `Incorrect xpath` internal error; an
 * expression libxml2 cannot compile prints libxml2's message and selects nothing.
 */
export async function dumpXPath(xml: string, xpath: string, wrap: boolean): Promise<XPathDump> {
  const { doc, lib } = await parse(xml);
  try {
    let result: ReturnType<XmlDocument['eval']>;
    try {
      result = doc.eval(xpath);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const prefix = `Failed to compile XPath expression: ${xpath}`;
      const detail = message.startsWith(prefix) ? message.slice(prefix.length) : message;
      // libxml2's generic error text already ends with its caret line and newline.
      return { stdout: '', stderr: detail.replace(/\n+$/, '\n') };
    }
    if (!Array.isArray(result)) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.XML, `Incorrect xpath '${xpath}'`);
    }
    if (!wrap) return { stdout: result.map((n) => `${dumpNode(lib, n)}\n`).join(''), stderr: '' };
    const attributes = result.filter((n) => n instanceof lib.XmlAttribute).map((n) => dumpNode(lib, n)).join('');
    const children = result.filter((n) => !(n instanceof lib.XmlAttribute)).map((n) =>
      n instanceof lib.XmlElement ? n.toString() : escapeXml(n.content)).join('');
    const { doc: wrapped } = await parse(`<nodes${attributes}>${children}</nodes>`);
    try {
      return { stdout: `${wrapped.root.toString({ format: true })}\n`, stderr: '' };
    } finally {
      wrapped.dispose();
    }
  } finally {
    doc.dispose();
  }
}
