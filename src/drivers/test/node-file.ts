/**
 * Loading a libvirt test-driver node file (test:///ABSOLUTE/PATH.xml): a `<node>` whose
 * `<domain>` and `<test:domainsnapshot>` children are inline or included with `file='relative/or/absolute.xml'`
 * (relative to the node file's directory, as testOpenFromFile resolves them). Each domain
 * may carry test-namespace extras (http://libvirt.org/schemas/domain/test/1.0):
 * `<test:runstate>N</test:runstate>` (a virDomainState number, default running),
 * `<test:transient/>`, `<test:hasmanagedsave/>` and `<test:domainsnapshot>` elements holding
 * snapshot metadata with `<active>1</active>` marking the current one.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import { DomainState } from '../../api/flags.js';
import { domainDefFromElement } from '../../conf/domain-xml.js';
import type { DomainDef } from '../../conf/domain-types.js';
import { MAX_NODE_FILE_ELEMENTS, parseXmlDocument } from '../../conf/xml-parse.js';
import { libxmlLoadWarning } from './libvirt-log.js';
import { attrValue, childElements, cloneElement, isElement, textContent, type XmlElement } from '../../conf/xml-tree.js';

/** The test driver's XML namespace for per-domain extras. */
export const TEST_NAMESPACE = 'http://libvirt.org/schemas/domain/test/1.0';

/** One domain of a node file, with its test-namespace extras. */
export interface NodeFileDomain {
  def: DomainDef;
  /** The virDomainState it starts in. */
  runstate: DomainState;
  transient: boolean;
  hasManagedSave: boolean;
  /** Each `<test:domainsnapshot>` element, renamed `<domainsnapshot>` (parsed once, with the file). */
  snapshotElements: XmlElement[];
}

/** Reads and parses the node file at `path`. */
export function loadNodeFile(path: string): NodeFileDomain[] {
  return parseNodeXML(readXmlFile(path), path);
}

/** A file's text, or libxml2's load warning and libvirt's parse error when it cannot be read. */
function readXmlFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    libxmlLoadWarning(path);
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.TEST, `failed to parse xml document '${path}'`);
  }
}

/** Parses node XML read from `path` (named in parse errors; its directory resolves `file=` includes). */
export function parseNodeXML(text: string, path: string): NodeFileDomain[] {
  const baseDir = dirname(path);
  const root = parseXmlDocument(text, path, VirErrorDomain.TEST, 'node', MAX_NODE_FILE_ELEMENTS);
  const inherited = testPrefixes(root);
  return childElements(root, 'domain').map((el) => {
    const file = attrValue(el, 'file');
    if (file === undefined) return nodeDomainFrom(el, inherited, baseDir);
    return nodeDomainFrom(readIncluded(baseDir, file, 'domain'), new Set(), baseDir);
  });
}

/**
 * testParseXMLDocFromFile: an element with `file=` stands for the root element of that
 * document (relative to the node file's directory), which must be a `rootName`.
 */
function readIncluded(baseDir: string, file: string, rootName: string): XmlElement {
  const includePath = isAbsolute(file) ? file : resolve(baseDir, file);
  return parseXmlDocument(readXmlFile(includePath), includePath, VirErrorDomain.TEST, rootName, MAX_NODE_FILE_ELEMENTS);
}

/** The prefixes `el` binds to the test namespace. */
function testPrefixes(el: XmlElement): Set<string> {
  return new Set(el.attrs
    .filter(([k, v]) => k.startsWith('xmlns:') && v === TEST_NAMESPACE)
    .map(([k]) => k.slice('xmlns:'.length)));
}

/**
 * Splits the test-namespace extras off a `<domain>` element and parses the rest;
 * `inherited` are test-namespace prefixes declared on the enclosing `<node>`.
 */
function nodeDomainFrom(source: XmlElement, inherited: Set<string>, baseDir: string): NodeFileDomain {
  const el = cloneElement(source);
  const prefixes = new Set([...inherited, ...testPrefixes(el)]);
  // A prefix may also be declared on the element itself (libxml2 resolves it either way).
  const isTest = (child: XmlElement, local: string): boolean => {
    const [prefix, name] = child.name.includes(':') ? child.name.split(':', 2) : ['', child.name];
    return name === local && (prefixes.has(prefix ?? '') || testPrefixes(child).has(prefix ?? ''));
  };
  let runstate = DomainState.RUNNING as DomainState;
  let transient = false;
  let hasManagedSave = false;
  const snapshotElements: XmlElement[] = [];
  el.children = el.children.filter((child) => {
    if (!isElement(child)) return true;
    if (isTest(child, 'runstate')) {
      const value = Number.parseInt(textContent(child).trim(), 10);
      if (!Number.isInteger(value)) throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.TEST, 'invalid runstate');
      if (value < 0 || value > DomainState.PMSUSPENDED) {
        throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.TEST, `runstate '${value}' out of range'`);
      }
      runstate = value as DomainState;
      return false;
    }
    if (isTest(child, 'transient')) { transient = true; return false; }
    if (isTest(child, 'hasmanagedsave')) { hasManagedSave = true; return false; }
    if (isTest(child, 'domainsnapshot')) {
      const file = attrValue(child, 'file');
      snapshotElements.push(file === undefined ? { ...child, name: 'domainsnapshot' } : readIncluded(baseDir, file, 'domainsnapshot'));
      return false;
    }
    return true;
  });
  el.attrs = el.attrs.filter(([k, v]) => !(k.startsWith('xmlns:') && v === TEST_NAMESPACE));
  if (transient && runstate === DomainState.SHUTOFF) {
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.TEST, 'transient domain cannot have runstate \'shutoff\'');
  }
  if (hasManagedSave && runstate !== DomainState.SHUTOFF) {
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.TEST,
      'domain with managedsave data can only have runstate \'shutoff\'');
  }
  return { def: domainDefFromElement(el), runstate, transient, hasManagedSave, snapshotElements };
}

