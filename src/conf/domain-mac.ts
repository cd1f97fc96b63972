/**
 * Interface MAC addresses as libvirt's parser handles them: a given address is checked
 * (unicast, six hex pairs) and printed in lower case; a missing one is generated with
 * libvirt's prefix 52:54:00 and kept in the definition, so the guest sees the same MAC
 * on every start.
 */
import { randomBytes } from 'node:crypto';
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import type { DomainDef } from './domain-types.js';
import { attrValue, childElement, childElements, makeElement, setAttr } from './xml-tree.js';

/** libvirt's VIR_MAC_PREFIX_DEFAULT (QEMU's own OUI). */
export const MAC_PREFIX = '52:54:00';

/** Checks every `<interface><mac>` of `def`, lower-cases it, and adds a generated one where missing. */
export function assignInterfaceMacs(def: DomainDef): void {
  const devices = childElement(def.element, 'devices');
  if (!devices) return;
  for (const iface of childElements(devices, 'interface')) {
    const mac = childElement(iface, 'mac');
    const given = mac ? attrValue(mac, 'address') : undefined;
    if (mac && given !== undefined) {
      setAttr(mac, 'address', checkedMac(given));
    } else if (mac) {
      setAttr(mac, 'address', generateMac());
    } else {
      // libvirt prints <mac> first inside <interface>.
      iface.children.unshift(makeElement('mac', [['address', generateMac()]]));
    }
  }
}

/** A random MAC with libvirt's prefix. */
export function generateMac(): string {
  return [MAC_PREFIX, ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

function checkedMac(text: string): string {
  if (!/^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}$/i.test(text)) {
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN, `unable to parse mac address '${text}'`);
  }
  const mac = text.split(':').map((p) => p.toLowerCase().padStart(2, '0')).join(':');
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) {
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN, `expected unicast mac address, found multicast '${text}'`);
  }
  return mac;
}
