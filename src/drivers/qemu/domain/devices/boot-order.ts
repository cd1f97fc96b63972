/**
 * Boot order as libvirt 9.0 passes it: every bootable device gets a `bootindex` and QEMU
 * runs with `-boot strict=on`. `<os><boot dev='hd|cdrom|network'>` entries number the
 * first disk, first CD-ROM and first interface in their order; per-device `<boot order>`
 * elements give the number directly; the two ways together get libvirt's refusal.
 */
import type { DomainDef } from '../../../../conf/domain-types.js';
import { attrValue, childElement, childElements } from '../../../../conf/xml-tree.js';
import { intAttr, unsupportedConfig } from './qemu-option.js';

/** The key of a disk in the boot index map. */
export function diskBootKey(target: string): string {
  return `disk:${target}`;
}

/** The key of the i-th `<interface>` in the boot index map. */
export function interfaceBootKey(index: number): string {
  return `net:${index}`;
}

/** Boot index of each bootable device of `def`, by diskBootKey / interfaceBootKey. */
export function bootIndexes(def: DomainDef): Map<string, number> {
  const os = childElement(def.element, 'os');
  const devices = childElement(def.element, 'devices');
  const interfaces = devices ? childElements(devices, 'interface') : [];
  const perDevice = new Map<string, number>();
  const orderOf = (boot: ReturnType<typeof childElement>): number => {
    const order = boot ? intAttr(boot, 'order') : undefined;
    if (order === undefined || order < 1) throw unsupportedConfig('boot order must be a positive number');
    return order;
  };
  for (const disk of def.disks) {
    const boot = childElement(disk.element, 'boot');
    if (boot) perDevice.set(diskBootKey(disk.target), orderOf(boot));
  }
  interfaces.forEach((iface, i) => {
    const boot = childElement(iface, 'boot');
    if (boot) perDevice.set(interfaceBootKey(i), orderOf(boot));
  });
  const osBoots = os ? childElements(os, 'boot') : [];
  if (osBoots.length > 0 && perDevice.size > 0) {
    throw unsupportedConfig('per-device boot elements cannot be used together with os/boot elements');
  }
  if (perDevice.size > 0) {
    const seen = new Set<number>();
    for (const order of perDevice.values()) {
      if (seen.has(order)) throw unsupportedConfig(`boot order '${order}' used for more than one device`);
      seen.add(order);
    }
    return perDevice;
  }
  const result = new Map<string, number>();
  let next = 1;
  for (const boot of osBoots) {
    const dev = attrValue(boot, 'dev');
    let key: string | undefined;
    if (dev === 'hd' || dev === 'cdrom') {
      const disk = def.disks.find((d) => d.device === (dev === 'hd' ? 'disk' : 'cdrom'));
      key = disk && diskBootKey(disk.target);
    } else if (dev === 'network') key = interfaces.length > 0 ? interfaceBootKey(0) : undefined;
    else throw unsupportedConfig(`<boot dev='${dev ?? ''}'> is not supported by snapvirt`);
    if (key !== undefined && !result.has(key)) result.set(key, next++);
  }
  return result;
}
