/**
 * The defaults libvirt fills in when the test driver parses a domain (post-parse callbacks,
 * the test capabilities' i686 arch, testDomainGenerateIfnames), so that `dumpxml` of a
 * domain defined here prints what real libvirt prints. conf/ keeps the XML verbatim; this is
 * the test driver's own normalisation, applied once when a definition enters the driver.
 *
 * Covered: memory units, currentMemory, vcpu placement, os arch and boot device, clock,
 * lifecycle actions, an always-present `<devices>`, disk target buses, interface MAC
 * addresses and `testnetN` names, and libvirt's top-level element order. Not covered:
 * implicit controllers and device addresses libvirt assigns.
 */
import type { DomainDef } from '../../conf/domain-types.js';
import {
  attrValue,
  childElement,
  childElements,
  isElement,
  makeElement,
  setAttr,
  setTextContent,
  type XmlElement,
} from '../../conf/xml-tree.js';

/** libvirt's top-level element order (virDomainDefFormatInternal). */
const TOP_LEVEL_ORDER = [
  'name', 'uuid', 'genid', 'title', 'description', 'metadata', 'maxMemory', 'memory',
  'currentMemory', 'blkiotune', 'memtune', 'memoryBacking', 'vcpu', 'vcpus', 'iothreads',
  'iothreadids', 'cputune', 'numatune', 'resource', 'sysinfo', 'bootloader', 'bootloader_args',
  'os', 'idmap', 'features', 'cpu', 'clock', 'on_poweroff', 'on_reboot', 'on_crash',
  'on_lockfailure', 'pm', 'perf', 'devices', 'seclabel', 'keywrap', 'launchSecurity',
];

/** Disk buses libvirt infers from the target name's prefix (virDomainDiskDefAssignAddress' caller). */
const BUS_BY_PREFIX: Array<[string, string]> = [
  ['xvd', 'xen'], ['hd', 'ide'], ['sd', 'scsi'], ['vd', 'virtio'], ['fd', 'fdc'], ['ub', 'usb'],
];

/** Options of applyTestDomainDefaults. */
export interface TestDomainDefaultsOptions {
  /**
   * Name interfaces `testnetN` (testDomainGenerateIfnames): done for domains the driver
   * defines, creates or loads, not for the `<domain>` stored inside a snapshot.
   */
  generateIfnames: boolean;
  randomMac?: () => string;
}

/** Applies the test driver's parse defaults to `def` in place. */
export function applyTestDomainDefaults(def: DomainDef, opts: TestDomainDefaultsOptions = { generateIfnames: true }): void {
  const randomMac = opts.randomMac ?? generateMac;
  const el = def.element;
  ensureMemory(el, 'memory', def.memoryKiB);
  ensureMemory(el, 'currentMemory', def.currentMemoryKiB);
  let vcpu = childElement(el, 'vcpu');
  if (!vcpu) {
    vcpu = makeElement('vcpu', [], [String(def.vcpus)]);
    el.children.push(vcpu);
  }
  if (attrValue(vcpu, 'placement') === undefined) vcpu.attrs.unshift(['placement', 'static']);
  setTextContent(vcpu, String(def.vcpus));

  const os = childElement(el, 'os');
  const osType = os ? childElement(os, 'type') : undefined;
  if (os && osType) {
    if (attrValue(osType, 'arch') === undefined) {
      osType.attrs.unshift(['arch', 'i686']);
      def.arch = 'i686';
    }
    const devicesHaveBootOrder = childElements(childElement(el, 'devices') ?? makeElement('devices'))
      .some((d) => childElement(d, 'boot') !== undefined);
    if (def.osType === 'hvm' && !childElement(os, 'boot') && !childElement(os, 'kernel') && !devicesHaveBootOrder) {
      const at = os.children.indexOf(osType);
      os.children.splice(at + 1, 0, makeElement('boot', [['dev', 'hd']]));
    }
  }
  if (!childElement(el, 'clock')) el.children.push(makeElement('clock', [['offset', 'utc']]));
  if (!childElement(el, 'on_poweroff')) el.children.push(makeElement('on_poweroff', [], ['destroy']));
  if (!childElement(el, 'on_reboot')) el.children.push(makeElement('on_reboot', [], ['restart']));
  if (!childElement(el, 'on_crash')) el.children.push(makeElement('on_crash', [], ['destroy']));
  let devices = childElement(el, 'devices');
  if (!devices) {
    devices = makeElement('devices');
    el.children.push(devices);
  }
  indentEmptyDevices(def, opts.generateIfnames ? 2 : 4);

  for (const disk of def.disks) {
    if (disk.bus !== undefined) continue;
    const bus = BUS_BY_PREFIX.find(([prefix]) => disk.target.startsWith(prefix))?.[1];
    const target = childElement(disk.element, 'target');
    if (bus && target) {
      setAttr(target, 'bus', bus);
      disk.bus = bus;
    }
  }
  addDriveAddresses(def, devices);
  childElements(devices, 'interface').forEach((nic, index) => {
    // libvirt formats <mac> first whatever the input order (virDomainNetDefFormat).
    const mac = childElement(nic, 'mac') ?? makeElement('mac', [['address', randomMac()]]);
    nic.children = [mac, ...nic.children.filter((child) => child !== mac)];
    if (opts.generateIfnames && !childElement(nic, 'target')) {
      const source = childElement(nic, 'source') ?? childElement(nic, 'mac');
      const at = source ? nic.children.indexOf(source) + 1 : nic.children.length;
      nic.children.splice(at, 0, makeElement('target', [['dev', `testnet${index}`]]));
    }
  });
  addControllerIndexes(devices);
  const cpuModel = childElement(childElement(el, 'cpu') ?? makeElement('cpu'), 'model');
  if (cpuModel && attrValue(cpuModel, 'fallback') === undefined) cpuModel.attrs.push(['fallback', 'allow']);
  sortTopLevel(el);
}

/** libvirt numbers controllers without an index per type, from 0, right after `type=`. */
function addControllerIndexes(devices: XmlElement): void {
  const nextIndex = new Map<string, number>();
  for (const controller of childElements(devices, 'controller')) {
    const type = attrValue(controller, 'type') ?? '';
    const given = attrValue(controller, 'index');
    if (given !== undefined) {
      nextIndex.set(type, Math.max(nextIndex.get(type) ?? 0, Number(given) + 1));
      continue;
    }
    const index = nextIndex.get(type) ?? 0;
    nextIndex.set(type, index + 1);
    const typeAt = controller.attrs.findIndex(([name]) => name === 'type');
    controller.attrs.splice(typeAt + 1, 0, ['index', String(index)]);
  }
}

/**
 * libvirt prints an empty `<devices>` on two lines; a blank text node makes our formatter do
 * the same. The text carries the closing tag's indentation: 2 for a domain, 4 for the
 * `<domain>` inside a `<domainsnapshot>`.
 */
export function indentEmptyDevices(def: DomainDef, indent: number): void {
  const devices = childElement(def.element, 'devices');
  if (devices && childElements(devices).length === 0) devices.children = [{ text: `\n${' '.repeat(indent)}` }];
}

/** Drive-address geometry per bus (virDomainDiskDefAssignAddress): disks per controller, per bus. */
const DRIVE_GEOMETRY: Record<string, { perController: number; perBus: number }> = {
  ide: { perController: 4, perBus: 2 },
  fdc: { perController: 2, perBus: 2 },
  sata: { perController: 6, perBus: 6 },
  scsi: { perController: 7, perBus: 7 },
};

/** virDiskNameToIndex: "hdc" → 2, "sdaa" → 26. */
function diskIndex(target: string): number | undefined {
  const letters = /([a-z]+)$/.exec(target.replace(/^(hd|sd|fd|vd|xvd|ub)/, ''))?.[1];
  if (!letters) return undefined;
  let index = 0;
  for (const ch of letters) index = index * 26 + (ch.charCodeAt(0) - 96);
  return index - 1;
}

/**
 * Gives ide/fdc/sata/scsi disks their `<address type='drive'>` and adds the implicit
 * controllers they need right after the last disk, as libvirt does.
 */
function addDriveAddresses(def: DomainDef, devices: XmlElement): void {
  const needed = new Map<string, number>();
  for (const disk of def.disks) {
    const geometry = disk.bus ? DRIVE_GEOMETRY[disk.bus] : undefined;
    const index = diskIndex(disk.target);
    if (!geometry || index === undefined) continue;
    let controller: number;
    const existing = childElement(disk.element, 'address');
    if (existing) {
      controller = Number(attrValue(existing, 'controller') ?? '0');
    } else {
      controller = Math.floor(index / geometry.perController);
      const bus = Math.floor((index % geometry.perController) / geometry.perBus);
      const unit = index % geometry.perBus;
      disk.element.children.push(makeElement('address', [
        ['type', 'drive'], ['controller', String(controller)], ['bus', String(bus)], ['target', '0'], ['unit', String(unit)],
      ]));
    }
    needed.set(disk.bus!, Math.max(needed.get(disk.bus!) ?? -1, controller));
  }
  const lastDisk = [...devices.children].reverse().find((c) => isElement(c) && (c.name === 'disk' || c.name === 'controller'));
  let at = lastDisk ? devices.children.indexOf(lastDisk) + 1 : 0;
  // virDomainDefAddDiskControllers adds them type by type in this order.
  for (const type of ['scsi', 'fdc', 'ide', 'sata']) {
    const maxIndex = needed.get(type) ?? -1;
    for (let index = 0; index <= maxIndex; index++) {
      const present = childElements(devices, 'controller')
        .some((c) => attrValue(c, 'type') === type && (attrValue(c, 'index') ?? '0') === String(index));
      if (present) continue;
      devices.children.splice(at++, 0, makeElement('controller', [['type', type], ['index', String(index)]]));
    }
  }
}

function ensureMemory(el: XmlElement, name: string, kib: number): void {
  let mem = childElement(el, name);
  if (!mem) {
    mem = makeElement(name, [['unit', 'KiB']], [String(kib)]);
    el.children.push(mem);
    return;
  }
  const unitIndex = mem.attrs.findIndex(([k]) => k === 'unit');
  if (unitIndex >= 0) mem.attrs[unitIndex] = ['unit', 'KiB'];
  else mem.attrs.unshift(['unit', 'KiB']);
  setTextContent(mem, String(kib));
}

/** Stable sort of the known top-level elements into libvirt's order; unknown ones go last. */
function sortTopLevel(el: XmlElement): void {
  const rank = (name: string): number => {
    const index = TOP_LEVEL_ORDER.indexOf(name);
    return index < 0 ? TOP_LEVEL_ORDER.length : index;
  };
  const elements = el.children.filter(isElement);
  const sorted = elements
    .map((child, position) => ({ child, position }))
    .sort((a, b) => rank(a.child.name) - rank(b.child.name) || a.position - b.position)
    .map(({ child }) => child);
  el.children = sorted;
}

/** A random MAC in QEMU's 52:54:00 range, as libvirt generates for the test driver. */
export function generateMac(): string {
  const byte = (): string => Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return `52:54:00:${byte()}:${byte()}:${byte()}`;
}
