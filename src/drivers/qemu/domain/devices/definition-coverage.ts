/**
 * Nothing in a definition is silently dropped: every element at the top of `<domain>`,
 * inside `<os>` and among `<devices>` is either one the QEMU driver honours (the device
 * families check their own insides) or refused here with libvirt's
 * VIR_ERR_CONFIG_UNSUPPORTED naming it.
 */
import type { DomainDef } from '../../../../conf/domain-types.js';
import { attrValue, childElement, childElements, textContent, type XmlElement } from '../../../../conf/xml-tree.js';
import { intAttr, notHonoured, refuseOtherAttributes, refuseOtherChildren, unsupportedConfig } from './qemu-option.js';

/** Top-level elements the driver honours (metadata included: it is the user's, kept as is). */
const TOP_LEVEL = new Set([
  'name', 'uuid', 'title', 'description', 'metadata', 'memory', 'currentMemory', 'vcpu', 'os', 'features', 'cpu',
  'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'pm', 'devices',
]);

/** Device elements some family of devices/ maps; every other device is refused. */
const DEVICES = new Set([
  'emulator', 'disk', 'controller', 'interface', 'serial', 'console', 'channel', 'input', 'graphics', 'video', 'rng',
  'memballoon', 'watchdog', 'tpm',
]);

const OS_CHILDREN = new Set(['type', 'loader', 'nvram', 'kernel', 'initrd', 'cmdline', 'boot', 'bootmenu']);

/** Refuses the first element of `def` that no part of the driver honours. */
export function refuseUnhonouredElements(def: DomainDef): void {
  for (const el of childElements(def.element)) {
    if (!TOP_LEVEL.has(el.name)) throw notHonoured(el);
  }
  const vcpu = childElement(def.element, 'vcpu');
  if (vcpu) {
    refuseOtherAttributes(vcpu, ['placement', 'current']);
    const current = intAttr(vcpu, 'current');
    if (current !== undefined && current !== def.vcpus) throw unsupportedConfig('<vcpu current> below the maximum (hot-pluggable vCPUs) is not supported by snapvirt');
  }
  const os = childElement(def.element, 'os');
  if (os) {
    refuseOtherAttributes(os, []);
    for (const el of childElements(os)) if (!OS_CHILDREN.has(el.name)) throw notHonoured(el, os);
    const type = childElement(os, 'type');
    const arch = type ? attrValue(type, 'arch') : undefined;
    if (arch !== undefined && arch !== 'x86_64') throw unsupportedConfig(`architecture '${arch}' is not supported by snapvirt (x86_64 only)`);
    if (def.osType !== 'hvm') throw unsupportedConfig(`os type '${def.osType}' is not supported by snapvirt`);
  }
  const devices = childElement(def.element, 'devices');
  if (devices) for (const el of childElements(devices)) if (!DEVICES.has(el.name) && !isSilentAudio(el)) throw notHonoured(el);
}

/**
 * `<audio type='none'>`, which libvirt 9.0 writes into every QEMU domain it defines: no
 * audio backend. snapvirt starts QEMU with -nodefaults and maps no sound device (every
 * `<sound>` is refused), so the guest has no audio, which is what the element asks for.
 * Any other backend is refused by name.
 */
function isSilentAudio(el: XmlElement): boolean {
  if (el.name !== 'audio' || attrValue(el, 'type') !== 'none') return false;
  refuseOtherAttributes(el, ['id', 'type']);
  refuseOtherChildren(el, []);
  return true;
}

/** The `<emulator>` of the definition, or undefined. */
export function emulatorOf(def: DomainDef): string | undefined {
  const devices = childElement(def.element, 'devices');
  const emulator = devices ? childElement(devices, 'emulator') : undefined;
  const path = emulator ? textContent(emulator).trim() : '';
  return path === '' ? undefined : path;
}

/** `-boot` for the definition: strict when devices carry boot indexes, menu from `<bootmenu enable='yes'>`. */
export function bootOption(def: DomainDef, hasBootIndexes: boolean): string | undefined {
  const os = childElement(def.element, 'os');
  const menu = os ? childElement(os, 'bootmenu') : undefined;
  const parts: string[] = [];
  if (menu && attrValue(menu, 'enable') === 'yes') parts.push('menu=on');
  if (hasBootIndexes) parts.push('strict=on');
  return parts.length > 0 ? parts.join(',') : undefined;
}
