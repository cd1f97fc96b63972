/**
 * `<domain>` XML ⇄ DomainDef (libvirt's virDomainDefParseXML / virDomainDefFormat, for the
 * parts snapshots need). Everything not typed is kept verbatim in `def.element`; the typed
 * fields (name, uuid, disk source/format/type/snapshot) are written back when formatting.
 */
import { orderDisks } from './disk-order.js';
import { VirError, VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import type { DiskDevice, DiskSnapshotMode, DiskSourceType, DomainDef, DomainDiskDef } from './domain-types.js';
import { generateUuid, parseUuid } from './uuid.js';
import { formatElement } from './xml-format.js';
import { parseXmlDocument } from './xml-parse.js';
import {
  attrValue,
  childElement,
  childElements,
  cloneElement,
  isElement,
  makeElement,
  removeAttr,
  setAttr,
  setTextContent,
  textContent,
  type XmlElement,
} from './xml-tree.js';

/** The document name libvirt gives domain XML in parse errors. */
export const DOMAIN_DOC_NAME = '(domain_definition)';

/** libvirt 9.0's virDomainVirtType names. */
const DOMAIN_TYPES = new Set([
  'none', 'qemu', 'kqemu', 'kvm', 'xen', 'lxc', 'uml', 'openvz', 'test', 'vmware', 'hyperv',
  'vbox', 'phyp', 'parallels', 'bhyve', 'vz', 'hvf',
]);
const DISK_TYPES: readonly DiskSourceType[] = ['file', 'block', 'dir', 'network', 'volume', 'nvme', 'vhostuser'];
const DISK_DEVICES: readonly DiskDevice[] = ['disk', 'cdrom', 'floppy', 'lun'];
const DISK_SNAPSHOT_MODES: readonly DiskSnapshotMode[] = ['no', 'internal', 'external', 'manual'];

/** Parses domain XML (root must be `<domain>`), as `virsh define` does. */
export function parseDomainXML(xml: string): DomainDef {
  const root = parseXmlDocument(xml, DOMAIN_DOC_NAME, VirErrorDomain.DOMAIN, 'domain');
  return domainDefFromElement(root);
}

/** "Invalid value for attribute 'A' in element 'E': 'V'." (virXMLPropEnum's wording). */
export function invalidAttributeValue(attr: string, element: string, value: string): VirError {
  return virError(
    VirErrorCode.XML_ERROR,
    VirErrorDomain.DOMAIN,
    `Invalid value for attribute '${attr}' in element '${element}': '${value}'.`,
  );
}

function oneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

/**
 * Builds a DomainDef from a parsed `<domain>` (or `<inactiveDomain>`) element. The element
 * is copied, the runtime `id` attribute dropped, and a `<uuid>` added when absent.
 */
export function domainDefFromElement(source: XmlElement): DomainDef {
  const element = cloneElement(source);
  removeAttr(element, 'id');
  const type = attrValue(element, 'type');
  if (type === undefined) throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.DOMAIN, 'missing domain type attribute');
  if (!DOMAIN_TYPES.has(type)) {
    throw virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.DOMAIN, `invalid domain type ${type}`);
  }
  const nameElement = childElement(element, 'name');
  const name = nameElement ? textContent(nameElement) : '';
  if (name === '') throw new VirError(VirErrorCode.NO_NAME, VirErrorDomain.DOMAIN, 'missing name information');
  if (name.includes('/')) {
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN, `name ${name} cannot contain '/'`);
  }
  const uuidElement = childElement(element, 'uuid');
  let uuid: string;
  if (uuidElement) {
    const parsed = parseUuid(textContent(uuidElement));
    if (parsed === undefined) throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.DOMAIN, 'malformed uuid element');
    uuid = parsed;
  } else {
    uuid = generateUuid();
    const at = element.children.findIndex((c) => isElement(c) && c.name === 'name');
    element.children.splice(at + 1, 0, makeElement('uuid', [], [uuid]));
  }
  const os = childElement(element, 'os');
  const osTypeElement = os ? childElement(os, 'type') : undefined;
  const osType = osTypeElement ? textContent(osTypeElement).trim() : '';
  if (osType === '') throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN, 'an os <type> must be specified');
  const memoryElement = childElement(element, 'memory');
  if (!memoryElement) {
    throw virError(
      VirErrorCode.XML_ERROR,
      VirErrorDomain.DOMAIN,
      'Memory size must be specified via <memory> or in the <numa> configuration',
    );
  }
  const memoryKiB = parseMemoryKiB(memoryElement);
  const currentMemoryElement = childElement(element, 'currentMemory');
  const currentMemoryKiB = currentMemoryElement ? parseMemoryKiB(currentMemoryElement) : memoryKiB;
  const vcpuElement = childElement(element, 'vcpu');
  const vcpus = vcpuElement ? Number.parseInt(textContent(vcpuElement).trim(), 10) : 1;
  if (!Number.isInteger(vcpus) || vcpus < 1) {
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN, 'maximum vcpus count must be an integer');
  }
  const devices = childElement(element, 'devices');
  const disks = devices ? orderDisks(childElements(devices, 'disk').map(diskDefFromElement)) : [];
  const def: DomainDef = {
    type,
    name,
    uuid,
    memoryKiB,
    currentMemoryKiB,
    vcpus,
    osType,
    disks,
    element,
  };
  const arch = osTypeElement ? attrValue(osTypeElement, 'arch') : undefined;
  const machine = osTypeElement ? attrValue(osTypeElement, 'machine') : undefined;
  if (arch !== undefined) def.arch = arch;
  if (machine !== undefined) def.machine = machine;
  return def;
}

const UNIT_SCALE: Record<string, number> = {
  b: 1, bytes: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
  p: 1024 ** 5, pib: 1024 ** 5, pb: 1000 ** 5,
  e: 1024 ** 6, eib: 1024 ** 6, eb: 1000 ** 6,
};

/** A memory element's size in KiB (virDomainParseMemory: default unit KiB, rounded up). */
function parseMemoryKiB(el: XmlElement): number {
  const text = textContent(el).trim();
  const unit = (attrValue(el, 'unit') ?? 'KiB').toLowerCase();
  const scale = UNIT_SCALE[unit];
  if (scale === undefined) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN, `unknown suffix '${attrValue(el, 'unit') ?? ''}'`);
  }
  if (!/^\d+$/.test(text)) {
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN, `Invalid value '${text}' for element or attribute './${el.name}[1]'`);
  }
  return Math.ceil((Number(text) * scale) / 1024);
}

/** The path a disk's `<source>` names for its type (file, dev or dir); undefined otherwise. */
function sourcePathOf(type: DiskSourceType, source: XmlElement | undefined): string | undefined {
  if (!source) return undefined;
  const attr = sourcePathAttribute(type);
  return attr ? attrValue(source, attr) : undefined;
}

/** Which `<source>` attribute holds the path for a disk type. */
export function sourcePathAttribute(type: string): 'file' | 'dev' | 'dir' | undefined {
  if (type === 'file') return 'file';
  if (type === 'block') return 'dev';
  if (type === 'dir') return 'dir';
  return undefined;
}

function diskDefFromElement(element: XmlElement): DomainDiskDef {
  const typeText = attrValue(element, 'type') ?? 'file';
  if (!oneOf(DISK_TYPES, typeText)) throw invalidAttributeValue('type', 'disk', typeText);
  const deviceText = attrValue(element, 'device') ?? 'disk';
  if (!oneOf(DISK_DEVICES, deviceText)) throw invalidAttributeValue('device', 'disk', deviceText);
  const source = childElement(element, 'source');
  const sourcePath = sourcePathOf(typeText, source);
  const targetElement = childElement(element, 'target');
  const target = targetElement ? attrValue(targetElement, 'dev') : undefined;
  if (target === undefined || target === '') {
    // libvirt names the disk by its source: the path, or a network volume's name.
    const described = sourcePath ?? (source ? attrValue(source, 'name') : undefined);
    throw new VirError(
      VirErrorCode.NO_TARGET,
      VirErrorDomain.DOMAIN,
      described ? `missing target information for device ${described}` : 'missing target information',
    );
  }
  const disk: DomainDiskDef = {
    type: typeText,
    device: deviceText,
    target,
    // libvirt's parser makes every cdrom read-only (and prints <readonly/> for it).
    readonly: childElement(element, 'readonly') !== undefined || deviceText === 'cdrom',
    element,
  };
  const bus = targetElement ? attrValue(targetElement, 'bus') : undefined;
  if (bus !== undefined) disk.bus = bus;
  if (sourcePath !== undefined) disk.sourcePath = sourcePath;
  const driver = childElement(element, 'driver');
  const format = driver ? attrValue(driver, 'type') : undefined;
  if (format !== undefined) disk.format = format;
  const snapshot = attrValue(element, 'snapshot');
  if (snapshot !== undefined) {
    if (!oneOf(DISK_SNAPSHOT_MODES, snapshot)) throw invalidAttributeValue('snapshot', 'disk', snapshot);
    disk.snapshot = snapshot;
  }
  return disk;
}

/** Options of formatDomainXML, as virDomainDefFormat's flags. */
export interface DomainFormatOptions {
  /** The running domain's id: printed as `id='N'` unless `inactive`. */
  id?: number;
  /** VIR_DOMAIN_XML_INACTIVE: the persistent view (no id). */
  inactive?: boolean;
  /** VIR_DOMAIN_XML_SECURE: keep security-sensitive attributes (graphics passwords). */
  secure?: boolean;
}

/** Formats a DomainDef as libvirt's dumpxml does. */
export function formatDomainXML(def: DomainDef, opts: DomainFormatOptions = {}): string {
  return formatElement(domainElementOf(def, 'domain', opts), 0);
}

/**
 * The `<domain>` element for `def` with typed fields written back; `rootName` lets a
 * snapshot embed it as `<inactiveDomain>`. The result is a fresh tree.
 */
export function domainElementOf(def: DomainDef, rootName: string, opts: DomainFormatOptions = {}): XmlElement {
  const element = cloneElement(def.element);
  element.name = rootName;
  removeAttr(element, 'id');
  setAttr(element, 'type', def.type);
  if (opts.id !== undefined && !opts.inactive) {
    // libvirt prints id right after type.
    const typeIndex = element.attrs.findIndex(([k]) => k === 'type');
    element.attrs.splice(typeIndex + 1, 0, ['id', String(opts.id)]);
  }
  writeChildText(element, 'name', def.name, 0);
  writeChildText(element, 'uuid', def.uuid, 1);
  const devices = childElement(element, 'devices');
  const diskElements = def.disks.map((disk) => diskElementOf(disk));
  if (devices) {
    // Disks stay where they were among the other devices; added disks go after the last one.
    const kept = devices.children.filter((c) => !(isElement(c) && c.name === 'disk'));
    let insertAt = devices.children.findIndex((c) => isElement(c) && c.name === 'disk');
    if (insertAt < 0) insertAt = kept.findIndex((c) => isElement(c) && c.name !== 'emulator');
    if (insertAt < 0) insertAt = kept.length;
    devices.children = [...kept.slice(0, insertAt), ...diskElements, ...kept.slice(insertAt)];
  } else if (diskElements.length > 0) {
    element.children.push(makeElement('devices', [], diskElements));
  }
  if (!opts.secure) stripSecrets(element);
  return element;
}

function writeChildText(element: XmlElement, name: string, value: string, position: number): void {
  const existing = childElement(element, name);
  if (existing) {
    setTextContent(existing, value);
  } else {
    element.children.splice(Math.min(position, element.children.length), 0, makeElement(name, [], [value]));
  }
}

/** The `<disk>` element for a disk def, with type, device, snapshot, driver type and source path written back. */
export function diskElementOf(disk: DomainDiskDef): XmlElement {
  const element = cloneElement(disk.element);
  // libvirt prints type, device (then snapshot) first, even when the input omitted them.
  removeAttr(element, 'type');
  removeAttr(element, 'device');
  element.attrs.unshift(['type', disk.type], ['device', disk.device]);
  // A read-only disk's mode 'no' is libvirt's implied default, which it does not print.
  setAttr(element, 'snapshot', disk.readonly && disk.snapshot === 'no' ? undefined : disk.snapshot);
  if (disk.readonly && !childElement(element, 'readonly')) insertReadonly(element);
  const pathAttr = sourcePathAttribute(disk.type);
  let source = childElement(element, 'source');
  if (pathAttr) {
    if (disk.sourcePath !== undefined) {
      if (!source) {
        source = makeElement('source');
        const driverIndex = element.children.findIndex((c) => isElement(c) && c.name === 'driver');
        element.children.splice(driverIndex + 1, 0, source);
      }
      for (const other of ['file', 'dev', 'dir']) if (other !== pathAttr) removeAttr(source, other);
      if (attrValue(source, pathAttr) === undefined) source.attrs.unshift([pathAttr, disk.sourcePath]);
      else setAttr(source, pathAttr, disk.sourcePath);
    } else if (source) {
      removeAttr(source, pathAttr);
      if (source.attrs.length === 0 && source.children.length === 0) {
        element.children = element.children.filter((c) => c !== source);
      }
    }
  }
  if (disk.type === 'network' && source) {
    const printed = networkSourceElement(source);
    element.children = element.children.map((c) => (c === source ? printed : c));
  }
  let driver = childElement(element, 'driver');
  if (disk.format !== undefined) {
    if (!driver) {
      driver = makeElement('driver', [['name', 'qemu']]);
      element.children.unshift(driver);
    }
    setAttr(driver, 'type', disk.format);
  } else if (driver) {
    removeAttr(driver, 'type');
  }
  return element;
}

/**
 * A network disk's `<source>` as libvirt prints it: without `<seclabel>`, which libvirt
 * parses for every source but prints only for local (file, block, dir) and volume ones.
 */
export function networkSourceElement(source: XmlElement): XmlElement {
  const copy = cloneElement(source);
  copy.children = copy.children.filter((c) => !(isElement(c) && c.name === 'seclabel'));
  return copy;
}

/** Adds `<readonly/>` where libvirt prints it: after `<target>` (and `<iotune>`), else after `<source>`. */
function insertReadonly(element: XmlElement): void {
  const after = (names: string[]): number => {
    let at = -1;
    element.children.forEach((c, i) => { if (isElement(c) && names.includes(c.name)) at = i; });
    return at;
  };
  let at = after(['target', 'iotune']);
  if (at < 0) at = after(['driver', 'source']);
  element.children.splice(at + 1, 0, makeElement('readonly'));
}

/** Whether formatted XML may hold an attribute stripSecrets removes (false: it certainly holds none). */
export function textMayHoldSecrets(xml: string): boolean {
  return xml.includes('passwd');
}

/** Drops what libvirt prints only with VIR_DOMAIN_XML_SECURE: graphics passwords. */
function stripSecrets(element: XmlElement): void {
  const devices = childElement(element, 'devices');
  if (!devices) return;
  for (const graphics of childElements(devices, 'graphics')) {
    removeAttr(graphics, 'passwd');
  }
}

/** A deep copy of a DomainDef. */
export function cloneDomainDef(def: DomainDef): DomainDef {
  const copy: DomainDef = {
    ...def,
    element: cloneElement(def.element),
    disks: def.disks.map((disk) => ({ ...disk, element: cloneElement(disk.element) })),
  };
  return copy;
}
