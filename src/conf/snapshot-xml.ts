/**
 * `<domainsnapshot>` XML ⇄ SnapshotDef: libvirt 9.0's virDomainSnapshotDefParseString and
 * virDomainSnapshotDefFormat (src/conf/snapshot_conf.c), with the same rules, error codes
 * and message texts. Disk alignment against a domain is separate (snapshot/disk-align.ts).
 */
import { unsafeNameReason } from './name-rules.js';
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import type { DiskSnapshotMode } from './domain-types.js';
import { domainDefFromElement, domainElementOf, networkSourceElement } from './domain-xml.js';
import type { MemorySnapshotMode, SnapshotDef, SnapshotDiskDef, SnapshotState } from './snapshot-types.js';
import { formatElement } from './xml-format.js';
import { parseXmlDocument } from './xml-parse.js';
import {
  attrValue,
  childElement,
  childElements,
  cloneElement,
  makeElement,
  textContent,
  type XmlElement,
} from './xml-tree.js';

/** The document name libvirt gives snapshot XML in parse errors. */
export const SNAPSHOT_DOC_NAME = '(domain_snapshot)';

/** Parse flags: VIR_DOMAIN_SNAPSHOT_PARSE_REDEFINE / _INTERNAL / _OFFLINE. */
export interface SnapshotParseOptions {
  /** REDEFINE: name, state and creationTime are required; parent, domain and inactiveDomain are read. */
  redefine?: boolean;
  /** INTERNAL: on-disk metadata; `<active>` is required and read. */
  internal?: boolean;
  /** OFFLINE: the domain is shut off, so no memory state can be saved (redefine derives it from the state). */
  offline?: boolean;
  /** The creation time (epoch seconds) a plain create records; defaults to now. */
  now?: number;
}

/** Format flags: VIR_DOMAIN_SNAPSHOT_XML_SECURE, and _FORMAT_INTERNAL with _FORMAT_CURRENT. */
export interface SnapshotFormatOptions {
  secure?: boolean;
  internal?: { current: boolean };
}

/** libvirt's virDomainSnapshotState names, in enum order (index 0, nostate, is never valid input). */
const SNAPSHOT_STATES: readonly SnapshotState[] = [
  'nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended', 'disk-snapshot',
];
const LOCATIONS: readonly DiskSnapshotMode[] = ['no', 'internal', 'external', 'manual'];
/** virStorageType names other than none. */
const STORAGE_TYPES = ['file', 'block', 'dir', 'network', 'volume', 'nvme', 'vhostuser', 'vdpa'] as const;
/** virStorageFileFormat names other than none. */
const STORAGE_FORMATS = new Set([
  'raw', 'dir', 'bochs', 'cloop', 'dmg', 'iso', 'vpc', 'vdi', 'fat', 'vhd', 'ploop', 'cow', 'qcow', 'qcow2',
  'qed', 'vmdk', 'luks',
]);

const SNAP = VirErrorDomain.DOMAIN_SNAPSHOT;

function xmlError(detail: string, domain: VirErrorDomain = SNAP): Error {
  return virError(VirErrorCode.XML_ERROR, domain, detail);
}

/** virXPathString: the text of the first `name` child, undefined when absent or empty. */
function childText(el: XmlElement, name: string): string | undefined {
  const child = childElement(el, name);
  if (!child) return undefined;
  const text = textContent(child);
  return text === '' ? undefined : text;
}

/** virXMLPropEnum with VIR_XML_PROP_NONZERO: the value must be one of `values` (never "default"/"none"). */
function enumAttr<T extends string>(el: XmlElement, attr: string, values: readonly T[]): T | undefined {
  const value = attrValue(el, attr);
  if (value === undefined) return undefined;
  if (!(values as readonly string[]).includes(value)) {
    throw xmlError(`Invalid value for attribute '${attr}' in element '${el.name}': '${value}'.`, VirErrorDomain.XML);
  }
  return value as T;
}

/** strtoll over the whole string, as virStrToLong_ll. */
function parseLongLong(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*[+-]?\d+$/.test(text)) return undefined;
  return Number.parseInt(text, 10);
}

/** Parses snapshot XML; `current` is `<active>1</active>` (only read with `internal`). */
export function parseSnapshotXML(xml: string, opts: SnapshotParseOptions): { def: SnapshotDef; current: boolean } {
  const root = parseXmlDocument(xml, SNAPSHOT_DOC_NAME, SNAP, 'domainsnapshot');
  return snapshotDefFromElement(root, opts);
}

/**
 * Builds a SnapshotDef from a parsed `<domainsnapshot>` element (or a test driver node
 * file's `<test:domainsnapshot>`), applying virDomainSnapshotDefParse's rules in its order.
 */
export function snapshotDefFromElement(root: XmlElement, opts: SnapshotParseOptions): { def: SnapshotDef; current: boolean } {
  let name = childText(root, 'name');
  if (name === undefined && opts.redefine) throw xmlError('a redefined snapshot must have a name');
  const def: SnapshotDef = { name: name ?? '', disks: [] };
  const description = childText(root, 'description');
  if (description !== undefined) def.description = description;
  let offline = opts.offline === true;

  if (opts.redefine) {
    const creationTime = parseLongLong(childText(root, 'creationTime'));
    if (creationTime === undefined) {
      throw virError(VirErrorCode.INTERNAL_ERROR, SNAP, 'missing creationTime from existing snapshot');
    }
    def.creationTime = creationTime;
    const parentElement = childElement(root, 'parent');
    const parentName = parentElement ? childText(parentElement, 'name') : undefined;
    if (parentName !== undefined) def.parent = parentName;
    const state = childText(root, 'state');
    if (state === undefined) throw xmlError('missing state from existing snapshot');
    const stateIndex = (SNAPSHOT_STATES as readonly string[]).indexOf(state);
    if (stateIndex <= 0) {
      throw virError(VirErrorCode.CONFIG_UNSUPPORTED, SNAP, `Invalid state '${state}' in domain snapshot XML`);
    }
    def.state = SNAPSHOT_STATES[stateIndex];
    offline = def.state === 'shutoff' || def.state === 'disk-snapshot';
    const domainElement = childElement(root, 'domain');
    // Old metadata has <domain><uuid/></domain> without a type: kept as the uuid only.
    if (domainElement && attrValue(domainElement, 'type') !== undefined && attrValue(domainElement, 'type') !== '') {
      def.domain = domainDefFromElement(domainElement);
    } else if (domainElement) {
      const uuid = childText(domainElement, 'uuid');
      if (uuid !== undefined) def.domainUuidOnly = uuid.trim();
    }
    const inactiveElement = childElement(root, 'inactiveDomain');
    if (inactiveElement) def.inactiveDomain = domainDefFromElement(inactiveElement);
  } else {
    // virDomainMomentDefPostParse: the creation time is now, the default name is that time.
    def.creationTime = opts.now ?? Math.floor(Date.now() / 1000);
    if (name === undefined) name = String(def.creationTime);
    def.name = name;
  }

  parseMemory(root, def, offline);

  const disks = childElement(root, 'disks');
  // libvirt reads ./disks/* : every child element is a disk, whatever its name.
  if (disks) def.disks = childElements(disks).map((el) => parseSnapshotDisk(el, opts));

  let current = false;
  if (opts.internal) {
    const active = parseLongLong(childText(root, 'active'));
    if (active === undefined) throw virError(VirErrorCode.INTERNAL_ERROR, SNAP, "Could not find 'active' element");
    current = active !== 0;
  }
  if (!offline) {
    const cookie = childElement(root, 'cookie');
    if (cookie) def.cookie = cloneElement(cookie);
  }
  return { def, current };
}

function parseMemory(root: XmlElement, def: SnapshotDef, offline: boolean): void {
  const memoryElement = childElement(root, 'memory');
  let mode: MemorySnapshotMode | undefined;
  let file: string | undefined;
  if (memoryElement) {
    mode = enumAttr(memoryElement, 'snapshot', LOCATIONS);
    if (mode === 'manual') throw xmlError("'manual' memory snapshot mode not supported");
    const fileAttr = attrValue(memoryElement, 'file');
    // An empty file='' is a file given (virsh --memspec file=): libvirt then refuses it as not absolute.
    if (fileAttr !== undefined) file = fileAttr;
  }
  if (file !== undefined && mode === undefined) {
    mode = 'external';
  } else if (file === undefined && mode === 'external') {
    throw xmlError('external memory snapshots require a filename');
  } else if (file !== undefined && mode !== 'external') {
    throw xmlError(`memory filename '${file}' requires external snapshot`);
  }
  if (offline && mode !== undefined && mode !== 'no') {
    throw xmlError('memory state cannot be saved with offline or disk-only snapshot');
  }
  if (file !== undefined && !file.startsWith('/')) {
    throw xmlError(`memory snapshot file path (${file}) must be absolute`);
  }
  if (mode !== undefined) {
    def.memory = file !== undefined ? { snapshot: mode, file } : { snapshot: mode };
  }
}

const SCALES: Record<string, number> = {
  b: 1, bytes: 1, k: 1024, kib: 1024, kb: 1000, m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3, t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/** virParseScaledValue with a default scale of bytes. */
function parseScaledBytes(el: XmlElement): number {
  const text = textContent(el).trim();
  const unit = attrValue(el, 'unit');
  const scale = SCALES[(unit ?? 'bytes').toLowerCase()];
  if (scale === undefined) throw virError(VirErrorCode.INVALID_ARG, SNAP, `unknown suffix '${unit ?? ''}'`);
  if (!/^\d+$/.test(text)) {
    throw xmlError(`Invalid value '${text}' for element or attribute './driver/metadata_cache/max_size'`);
  }
  return Number(text) * scale;
}

/** virDomainSnapshotDiskDefParseXML. */
function parseSnapshotDisk(el: XmlElement, opts: SnapshotParseOptions): SnapshotDiskDef {
  const name = attrValue(el, 'name');
  if (name === undefined) throw virError(VirErrorCode.INTERNAL_ERROR, SNAP, 'missing name from disk snapshot element');
  const disk: SnapshotDiskDef = { name };
  let snapshot = enumAttr(el, 'snapshot', LOCATIONS);
  const type = enumAttr(el, 'type', STORAGE_TYPES) ?? 'file';
  if (type !== 'file' && type !== 'block' && type !== 'network') {
    // libvirt rejects volume and dir here; nvme, vhostuser and vdpa fail later in libvirt,
    // and no schema allows them, so we refuse them up front with the same message.
    throw xmlError(`unsupported disk snapshot type '${type}'`);
  }
  const source = childElement(el, 'source');
  let hasNetworkSource = false;
  if (source) {
    disk.sourceElement = cloneElement(source);
    if (type === 'network') {
      const protocol = attrValue(source, 'protocol');
      if (protocol === undefined) throw xmlError('missing network source protocol type');
      hasNetworkSource = true;
    } else {
      const path = attrValue(source, type === 'file' ? 'file' : 'dev');
      if (path !== undefined) disk.sourcePath = path;
    }
  }
  const driver = childElement(el, 'driver');
  if (driver) {
    disk.driverElement = cloneElement(driver);
    const format = attrValue(driver, 'type');
    if (format !== undefined && format !== '') {
      if (!STORAGE_FORMATS.has(format)) {
        throw virError(VirErrorCode.CONFIG_UNSUPPORTED, SNAP, `unknown disk snapshot driver '${format}'`);
      }
      disk.format = format;
    }
    const cache = childElement(driver, 'metadata_cache');
    const maxSize = cache ? childElement(cache, 'max_size') : undefined;
    if (maxSize) disk.metadataCacheMaxBytes = parseScaledBytes(maxSize);
  }
  if (disk.sourcePath !== undefined && !disk.sourcePath.startsWith('/')) {
    throw xmlError(`disk snapshot image path '${disk.sourcePath}' must be absolute`);
  }
  if (snapshot === undefined && (disk.sourcePath !== undefined || disk.format !== undefined || hasNetworkSource)) {
    snapshot = 'external';
  }
  if (snapshot !== undefined) disk.snapshot = snapshot;
  if (source || driver || type !== 'file') disk.type = type;
  if (opts.internal && childElement(el, 'snapshotDeleteInProgress')) disk.deleteInProgress = true;
  return disk;
}

/** Formats a SnapshotDef as snapshot-dumpxml prints it; `internal` adds `<active>`. */
export function formatSnapshotXML(def: SnapshotDef, opts: SnapshotFormatOptions = {}): string {
  return formatElement(snapshotElementOf(def, opts), 0);
}

/** The `<domainsnapshot>` element virDomainSnapshotDefFormat would print, as a tree. */
export function snapshotElementOf(def: SnapshotDef, opts: SnapshotFormatOptions = {}): XmlElement {
  const root = makeElement('domainsnapshot');
  const add = (el: XmlElement): void => {
    root.children.push(el);
  };
  add(makeElement('name', [], [def.name]));
  if (def.description !== undefined && def.description !== '') add(makeElement('description', [], [def.description]));
  if (def.state !== undefined && def.state !== 'nostate') add(makeElement('state', [], [def.state]));
  if (def.parent !== undefined) add(makeElement('parent', [], [makeElement('name', [], [def.parent])]));
  if (def.creationTime) add(makeElement('creationTime', [], [String(def.creationTime)]));
  if (def.memory?.snapshot !== undefined) {
    const attrs: Array<[string, string]> = [['snapshot', def.memory.snapshot]];
    if (def.memory.file !== undefined) attrs.push(['file', def.memory.file]);
    add(makeElement('memory', attrs));
  }
  if (def.disks.length > 0) add(makeElement('disks', [], def.disks.map(snapshotDiskElementOf)));
  const domainFormat = { inactive: true, secure: opts.secure === true };
  if (def.domain) {
    add(domainElementOf(def.domain, 'domain', domainFormat));
  } else if (def.domainUuidOnly !== undefined) {
    add(makeElement('domain', [], [makeElement('uuid', [], [def.domainUuidOnly])]));
  }
  if (def.inactiveDomain) add(domainElementOf(def.inactiveDomain, 'inactiveDomain', domainFormat));
  if (def.cookie) add(cloneElement(def.cookie));
  if (opts.internal) add(makeElement('active', [], [opts.internal.current ? '1' : '0']));
  return root;
}

/** virDomainSnapshotDiskDefFormat: name, snapshot, type; then driver and source. */
function snapshotDiskElementOf(disk: SnapshotDiskDef): XmlElement {
  const attrs: Array<[string, string]> = [['name', disk.name]];
  if (disk.snapshot !== undefined) attrs.push(['snapshot', disk.snapshot]);
  const children: XmlElement[] = [];
  if (disk.deleteInProgress) children.push(makeElement('snapshotDeleteInProgress'));
  const type = disk.type ?? 'file';
  const hasNetworkSource = type === 'network' && disk.sourceElement !== undefined;
  if (disk.sourcePath !== undefined || disk.format !== undefined || hasNetworkSource) {
    attrs.push(['type', type]);
    const driver = makeElement('driver', disk.format !== undefined ? [['type', disk.format]] : []);
    if (disk.metadataCacheMaxBytes !== undefined) {
      driver.children.push(
        makeElement('metadata_cache', [], [
          makeElement('max_size', [['unit', 'bytes']], [String(disk.metadataCacheMaxBytes)]),
        ]),
      );
    }
    if (driver.attrs.length > 0 || driver.children.length > 0) children.push(driver);
    const source = snapshotSourceElementOf(disk, type);
    if (source) children.push(source);
  }
  return makeElement('disk', attrs, children);
}

/** The overlay's `<source>`: the path attribute for file/block (plus seclabels), verbatim for network. */
function snapshotSourceElementOf(disk: SnapshotDiskDef, type: 'file' | 'block' | 'network'): XmlElement | undefined {
  if (type === 'network') return disk.sourceElement ? networkSourceElement(disk.sourceElement) : undefined;
  const attrs: Array<[string, string]> = [];
  if (disk.sourcePath !== undefined) attrs.push([type === 'file' ? 'file' : 'dev', disk.sourcePath]);
  const seclabels = disk.sourceElement ? childElements(disk.sourceElement, 'seclabel').map(cloneElement) : [];
  if (attrs.length === 0 && seclabels.length === 0) return undefined;
  return makeElement('source', attrs, seclabels);
}

/**
 * qemu's snapshot name rules (qemuSnapshotCreateXML, skipped with NO_METADATA): no '/',
 * no leading '.', since the name becomes a metadata file name.
 */
export function checkSnapshotName(name: string, errDomain: VirErrorDomain = VirErrorDomain.QEMU): void {
  const unsafe = unsafeNameReason(name);
  if (unsafe) throw virError(VirErrorCode.XML_DETAIL, errDomain, `invalid snapshot name: ${unsafe}`);
  if (name.includes('/')) {
    throw virError(VirErrorCode.XML_DETAIL, errDomain, `invalid snapshot name '${name}': name can't contain '/'`);
  }
  if (name.startsWith('.')) {
    throw virError(VirErrorCode.XML_DETAIL, errDomain, `invalid snapshot name '${name}': name can't start with '.'`);
  }
}
