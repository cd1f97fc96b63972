/**
 * Parses XML text into an XmlElement tree with libxml2 (libxml2-wasm), reporting malformed
 * input exactly as libvirt's virXMLParseHelper/catchXMLError does: the document name, the
 * line, libxml2's message, the offending source line and a caret line under the column.
 * Hostile input (DTDs and entity declarations, huge documents, deep nesting) is refused
 * with a VirError before or while libxml2 sees it, never a crash or a hang.
 */
import type {
  ErrorDetail,
  XmlDocument,
  XmlElement as LibXmlElement,
  XmlNode as LibXmlNode,
  XmlTreeNode,
} from 'libxml2-wasm';
import { VirError, VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import { fastParseXml } from './xml-fast-parse.js';
import { firstEscapedByte } from './utf8-bytes.js';
import { errorContext, indexOfPosition } from './xml-error-context.js';
import { declaredEncodingError, encodingFailure, type PrefixError } from './xml-encoding-errors.js';
import { elementFromContent, type XmlElement, type XmlNode } from './xml-tree.js';

/** The libxml2-wasm module. */
export type XmlLibrary = typeof import('libxml2-wasm');

let library: XmlLibrary | undefined;
let loading: Promise<XmlLibrary> | undefined;

/**
 * Loads libxml2-wasm, once. Its module compiles and instantiates a WebAssembly libxml2
 * with top-level await (35–130 ms), so it is not imported with this file. Well-formed
 * documents are read without it (xml-fast-parse.ts); it is needed to word the error of a
 * malformed one, for schema validation and for XPath. The parse functions stay
 * synchronous, so an entry point that takes XML text from its caller awaits
 * prepareXmlInput() first.
 */
export async function ensureXmlParser(): Promise<XmlLibrary> {
  library ??= await (loading ??= importLibxml2());
  return library;
}

/**
 * Where bin/snapvirt registers its import(). The bundled CLI runs as a script compiled
 * from V8's code cache (node:vm), and on Node 20 an import() inside such a script has no
 * module loader (only an experimental flag gives it one), so the launcher, a real module,
 * imports libxml2-wasm for it. Everywhere else (the library, tests) this is unset.
 */
export const ESM_IMPORTER = Symbol.for('snapvirt.esmImporter');

function importLibxml2(): Promise<XmlLibrary> {
  const importer = (globalThis as { [ESM_IMPORTER]?: (specifier: string) => Promise<unknown> })[ESM_IMPORTER];
  return importer ? importer('libxml2-wasm') as Promise<XmlLibrary> : import('libxml2-wasm');
}

/**
 * Readies parseXmlDocument for `xml`, text a caller handed in (a definition to define, a
 * snapshot to create): libxml2 is loaded when the fast reader declines the text (then
 * libxml2 judges it, and words any error as libvirt does) or when `validate` asks for
 * schema validation. Definitions snapvirt stored itself need no preparation.
 */
export async function prepareXmlInput(xml: string, validate = false): Promise<void> {
  if (validate || !readCallerXmlFast(xml)) await ensureXmlParser();
}

/** The tree of a caller's `xml` (judged strictly) when the fast reader takes it, else undefined: libxml2 must read it. */
export function readCallerXmlFast(xml: string): XmlElement | undefined {
  // A document near the size limit is left to parseXmlDocument's own checks and libxml2.
  return xml.length * 3 <= MAX_XML_DOCUMENT_BYTES ? fastParseXml(xml, MAX_XML_ELEMENTS) : undefined;
}

/** Whether this process has loaded libxml2-wasm (tests check the common paths never do). */
export function xmlLibraryLoaded(): boolean {
  return library !== undefined;
}

/** True while readWithXmlParser reads a caller's documents without libxml2. */
let judgingWithoutLibxml2 = false;

/**
 * Whether a parse now may take its text as already accepted. Without libxml2 loaded, text
 * is either stored (accepted when it was defined) or a caller's text that
 * prepareXmlInput() found the fast reader takes as it is; the exception is a reading in
 * readWithXmlParser, which judges a caller's documents.
 */
function textIsVouchedFor(): boolean {
  return library === undefined && !judgingWithoutLibxml2;
}

/** Errors of a parse that needed libxml2 before it was loaded (readWithXmlParser retries them). */
const parserMissing = new WeakSet<Error>();

/** The loaded libxml2-wasm; a parse before ensureXmlParser() is a programming error. */
export function loadedXmlLibrary(): XmlLibrary {
  if (!library) {
    const err = virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.XML, 'XML parser used before ensureXmlParser() loaded it');
    parserMissing.add(err);
    throw err;
  }
  return library;
}

/**
 * Runs `read`, which only reads and parses documents (it may run twice), without libxml2
 * unless one of its documents needs it: then libxml2 is loaded and `read` runs again, so
 * errors keep libxml2's wording. For inputs read inside the call, such as node files.
 */
export async function readWithXmlParser<T>(read: () => T): Promise<T> {
  judgingWithoutLibxml2 = true;
  try {
    return read();
  } catch (err) {
    if (!(err instanceof Error && parserMissing.has(err))) throw err;
  } finally {
    judgingWithoutLibxml2 = false;
  }
  await ensureXmlParser();
  return read();
}

/** The largest document we accept, in bytes (virsh's own limit for XML files). */
export const MAX_XML_DOCUMENT_BYTES = 10 * 1024 * 1024;

/**
 * The most elements we convert: far above any real domain or snapshot definition, and low
 * enough that a flood of tiny elements is refused in well under a second.
 */
export const MAX_XML_ELEMENTS = 100_000;

/**
 * The most elements in a test-driver node file the user names (test:///PATH.xml): a node
 * with 10,000 snapshots that each carry a `<domain>` has about 140,000, and virsh loads
 * it (this leaves room for about 28,000). The byte limit still applies, and refusing a
 * flood at this count takes about a second, so hostile files still cost little.
 */
export const MAX_NODE_FILE_ELEMENTS = 400_000;

/**
 * Parses `xml` (named `docName` in error messages, e.g. "(domain_snapshot)") into a tree.
 * Errors are VIR_ERR_XML_DETAIL in `errDomain`, worded like libvirt's. When
 * `expectedRoot` is given, a different root element gives libvirt's
 * "expecting root element of 'X', not 'Y'" (VIR_ERR_XML_ERROR, VIR_FROM_XML).
 * More than `maxElements` elements is refused.
 */
export function parseXmlDocument(
  xml: string,
  docName: string,
  errDomain: VirErrorDomain,
  expectedRoot?: string,
  maxElements: number = MAX_XML_ELEMENTS,
): XmlElement {
  refuseHostileInput(xml, errDomain);
  const badByte = firstEscapedByte(xml);
  if (badByte >= 0) throw encodingFailure(xml, badByte, docName, errDomain, (prefix) => prefixError(prefix, xml, docName, errDomain));
  const encodingError = declaredEncodingError(xml, docName, errDomain);
  if (encodingError) throw encodingError;
  const fast = fastParseXml(xml, maxElements, textIsVouchedFor());
  if (fast) return checkedRoot(fast, expectedRoot);
  return parseXmlWithLibxml2(xml, docName, errDomain, expectedRoot, maxElements);
}

/**
 * parseXmlDocument's libxml2 path, for what the fast reader declines (and for tests that
 * hold the fast reader against it). Needs libxml2 loaded.
 */
export function parseXmlWithLibxml2(
  xml: string, docName: string, errDomain: VirErrorDomain, expectedRoot: string | undefined, maxElements: number,
): XmlElement {
  const lib = loadedXmlLibrary();
  let doc: XmlDocument;
  try {
    // libvirt hands libxml2 a string, which it reads as UTF-8 whatever the declaration says.
    doc = lib.XmlDocument.fromString(xml, { url: docName, option: lib.ParseOption.XML_PARSE_IGNORE_ENC });
  } catch (err) {
    throw parseFailure(xml, docName, errDomain, err);
  }
  try {
    if (doc.dtd !== null) throw doctypeRefused(errDomain);
    const budget = { elementsLeft: maxElements, limit: maxElements };
    return checkedRoot(convertElement(lib, doc.root, errDomain, budget), expectedRoot);
  } finally {
    doc.dispose();
  }
}

/**
 * The error libxml2 gives for `prefix`, the text of `xml` before a bad byte, worded for
 * `xml`, with the index it is at; undefined when the prefix is a whole document.
 */
function prefixError(prefix: string, xml: string, docName: string, errDomain: VirErrorDomain): PrefixError | undefined {
  const lib = loadedXmlLibrary();
  try {
    lib.XmlDocument.fromString(prefix, { url: docName, option: lib.ParseOption.XML_PARSE_IGNORE_ENC }).dispose();
    return undefined;
  } catch (err) {
    const first = isErrorWithDetails(err) ? err.details.find((d) => d.level >= 3) ?? err.details[0] : undefined;
    return { error: parseFailure(xml, docName, errDomain, err), at: first ? indexOfPosition(prefix, first.line ?? 1, first.col ?? 1) : 0 };
  }
}

function checkedRoot(root: XmlElement, expectedRoot: string | undefined): XmlElement {
  if (expectedRoot !== undefined && root.name !== expectedRoot) {
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.XML, `expecting root element of '${expectedRoot}', not '${root.name}'`);
  }
  return root;
}

function doctypeRefused(errDomain: VirErrorDomain): VirError {
  return virError(VirErrorCode.XML_ERROR, errDomain, 'DOCTYPE and entity declarations are not allowed');
}

/**
 * Checks that need no parser: size, and a DOCTYPE in the prolog (the only place one can
 * be). Refusing DOCTYPE outright shuts out entity expansion attacks (billion laughs) and
 * external entities; libvirt accepts them, we deliberately do not.
 */
function refuseHostileInput(xml: string, errDomain: VirErrorDomain): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short strings need no byte count.
  if (xml.length * 3 > MAX_XML_DOCUMENT_BYTES && Buffer.byteLength(xml, 'utf8') > MAX_XML_DOCUMENT_BYTES) {
    throw virError(
      VirErrorCode.XML_ERROR,
      errDomain,
      `document is larger than the maximum of ${MAX_XML_DOCUMENT_BYTES} bytes`,
    );
  }
  if (prologHasDoctype(xml)) throw doctypeRefused(errDomain);
}

/** Scans the prolog (XML declaration, comments, PIs, whitespace) for `<!DOCTYPE`. */
function prologHasDoctype(xml: string): boolean {
  let i = 0;
  for (;;) {
    while (i < xml.length && ' \t\r\n\ufeff'.includes(xml.charAt(i))) i++;
    if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i + 2);
      if (end < 0) return false;
      i = end + 2;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0) return false;
      i = end + 3;
    } else {
      return xml.startsWith('<!DOCTYPE', i) || xml.startsWith('<!doctype', i);
    }
  }
}

function isErrorWithDetails(err: unknown): err is Error & { details: ErrorDetail[] } {
  return err instanceof Error && Array.isArray((err as { details?: unknown }).details);
}

/**
 * Where the libxml2 in libxml2-wasm words or places an error differently from the
 * libxml2 2.9 that libvirt 9.0 links (measured with virsh), the older form is used.
 */
const LIBXML2_WORDING: Array<{ pattern: RegExp; replacement: string; columnShift: number }> = [
  {
    pattern: /^Excessive depth in document: (\d+), use XML_PARSE_HUGE option\n$/,
    replacement: 'Excessive depth in document: $1 use XML_PARSE_HUGE option\n',
    columnShift: 1,
  },
];

/** Builds libvirt's catchXMLError message from the first fatal libxml2 error. */
function parseFailure(xml: string, docName: string, errDomain: VirErrorDomain, err: unknown): VirError {
  if (err instanceof VirError) return err;
  const details = isErrorWithDetails(err) ? err.details : [];
  const first = details.find((d) => d.level >= 3) ?? details[0];
  let line: number;
  let column: number;
  let message: string;
  if (first) {
    line = first.line ?? 1;
    column = first.col ?? 1;
    message = first.message;
    for (const fix of LIBXML2_WORDING) {
      if (fix.pattern.test(message)) {
        message = message.replace(fix.pattern, fix.replacement);
        column += fix.columnShift;
      }
    }
  } else if (xml.trim() === '') {
    // libxml2-wasm does not report the empty document; libxml2 itself says this.
    line = 1;
    column = 1;
    message = 'Document is empty\n';
  } else {
    return virError(VirErrorCode.XML_DETAIL, errDomain, `${docName}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { contextLine, pointerLine } = errorContext(xml, line, column);
  return virError(VirErrorCode.XML_DETAIL, errDomain, `${docName}:${line}: ${message}${contextLine}\n${pointerLine}`);
}

/**
 * The child nodes of `el`. libxml2-wasm gives a processing instruction no `next`, so a walk
 * along the siblings would end at the first one and lose what follows; XPath's node() lists
 * them all, so it is asked whenever the walk meets such a node.
 */
function childNodes(el: LibXmlElement): LibXmlNode[] {
  const nodes: LibXmlNode[] = [];
  for (let node: XmlTreeNode | null | undefined = el.firstChild; node; node = node.next) {
    if (node.next === undefined) return el.find('node()');
    nodes.push(node);
  }
  return nodes;
}

function qualifiedName(prefix: string, local: string): string {
  return prefix ? `${prefix}:${local}` : local;
}

/** Copies a libxml2 element into our tree (depth is bounded by libxml2's 256 limit). */
function convertElement(
  lib: XmlLibrary, el: LibXmlElement, errDomain: VirErrorDomain, budget: { elementsLeft: number; limit: number },
): XmlElement {
  budget.elementsLeft -= 1;
  if (budget.elementsLeft < 0) {
    throw virError(VirErrorCode.XML_ERROR, errDomain, `document has more than ${budget.limit} elements`);
  }
  const attrs: Array<[string, string]> = [];
  for (const attr of el.attrs) attrs.push([qualifiedName(attr.prefix, attr.name), attr.value]);
  // libxml2 does not keep declarations and attributes interleaved; libvirt prints its
  // own declarations (xmlns:qemu, xmlns:test) after the attributes, so we do too.
  for (const [prefix, uri] of Object.entries(el.nsDeclarations)) {
    attrs.push([prefix ? `xmlns:${prefix}` : 'xmlns', uri]);
  }
  const children: XmlNode[] = [];
  let pendingText = '';
  for (const node of childNodes(el)) {
    if (node instanceof lib.XmlText || node instanceof lib.XmlCData) {
      pendingText += node.content;
    } else if (node instanceof lib.XmlElement) {
      if (pendingText) children.push({ text: pendingText });
      pendingText = '';
      children.push(convertElement(lib, node, errDomain, budget));
    } else if (node instanceof lib.XmlEntityReference) {
      throw doctypeRefused(errDomain);
    }
    // Comments and processing instructions are dropped, as libvirt drops them.
  }
  if (pendingText) children.push({ text: pendingText });
  return elementFromContent(qualifiedName(el.prefix, el.name), attrs, children);
}
