/**
 * The aliases libvirt gives character devices (serialN, consoleN) and the -chardev id
 * chardev.ts gives each: what `virsh console --devname` names, and what query-chardev
 * reports. A serial console is its serial port's chardev (libvirt's alias of serial0).
 */
import type { DomainDef } from '../../../../conf/domain-types.js';
import { attrValue, childElement, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import { intAttr } from './qemu-option.js';

/** One character device a console can attach to. */
export interface CharDeviceAlias {
  alias: string;
  /** The -chardev id (query-chardev's label). */
  chardev: string;
  kind: 'console' | 'serial';
}

/** Consoles first (libvirt's default is the first console, else the first serial port), then serial ports. */
export function charDeviceAliases(def: DomainDef): CharDeviceAlias[] {
  const devices = childElement(def.element, 'devices');
  if (!devices) return [];
  const port = (el: XmlElement): number | undefined => {
    const target = childElement(el, 'target');
    return target ? intAttr(target, 'port') : undefined;
  };
  const consoles = childElements(devices, 'console').map((c, i): CharDeviceAlias => {
    const target = childElement(c, 'target');
    const virtio = target !== undefined && attrValue(target, 'type') === 'virtio';
    return { alias: `console${i}`, chardev: virtio ? `charconsole${i}` : `charserial${port(c) ?? 0}`, kind: 'console' };
  });
  const serials = childElements(devices, 'serial').map((s, i): CharDeviceAlias => {
    const p = port(s) ?? i;
    return { alias: `serial${p}`, chardev: `charserial${p}`, kind: 'serial' };
  });
  return [...consoles, ...serials];
}
