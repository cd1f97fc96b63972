/**
 * UEFI firmware as libvirt 9.0 maps it: `<os><loader readonly='yes' type='pflash'>CODE`
 * and `<nvram template='VARS'>PATH` become two raw pflash block nodes, the code read-only
 * and the variable store writable, handed to the machine as `pflash0=` and `pflash1=`
 * (libvirt-pflash0-format, libvirt-pflash1-format). A ROM loader (`type='rom'`) is `-bios`.
 * Firmware auto-selection (`<os firmware='efi'>`) and Secure Boot need the firmware
 * descriptors and SMM: refused by name.
 */
import type { DomainDef } from '../../../../conf/domain-types.js';
import { attrValue, childElement, textContent } from '../../../../conf/xml-tree.js';
import type { DeviceContext } from './device-context.js';
import { refuseOtherAttributes, unsupportedConfig } from './qemu-option.js';
import { isAbsolute } from 'node:path';

/** The firmware files of a definition. */
export interface FirmwareDef {
  /** The loader image (OVMF_CODE). */
  loader: string;
  type: 'pflash' | 'rom';
  /** The per-domain variable store and the template it is created from. */
  nvram?: { path: string; template?: string };
}

/** The `<loader>`/`<nvram>` of `def`, checked; undefined when it boots QEMU's default BIOS. */
export function firmwareOf(def: DomainDef): FirmwareDef | undefined {
  const os = childElement(def.element, 'os');
  const loader = os && childElement(os, 'loader');
  const nvram = os && childElement(os, 'nvram');
  if (!loader) {
    if (nvram) throw unsupportedConfig('<nvram> without a <loader> is not supported by snapvirt');
    return undefined;
  }
  refuseOtherAttributes(loader, ['readonly', 'type', 'secure']);
  const type = attrValue(loader, 'type') ?? 'rom';
  if (type !== 'pflash' && type !== 'rom') throw unsupportedConfig(`<loader type='${type}'> is not supported by snapvirt`);
  if ((attrValue(loader, 'secure') ?? 'no') !== 'no') {
    throw unsupportedConfig("<loader secure='yes'> (Secure Boot needs SMM and a secure-boot firmware build) is not supported by snapvirt");
  }
  const path = textContent(loader).trim();
  if (!isAbsolute(path)) throw unsupportedConfig('the <loader> path must be absolute');
  const fw: FirmwareDef = { loader: path, type };
  if (type === 'pflash' && attrValue(loader, 'readonly') !== 'yes') {
    throw unsupportedConfig("a writable pflash <loader> (without readonly='yes') is not supported by snapvirt");
  }
  if (nvram) {
    if (type !== 'pflash') throw unsupportedConfig("<nvram> needs <loader type='pflash'>");
    refuseOtherAttributes(nvram, ['template']);
    const nvramPath = textContent(nvram).trim();
    // libvirt would pick /var/lib/libvirt/qemu/nvram/NAME_VARS.fd and write it into the
    // definition; snapvirt asks for the path so the definition says where the file is.
    if (!isAbsolute(nvramPath)) throw unsupportedConfig('<nvram> needs an absolute path to the variable store file');
    const template = attrValue(nvram, 'template');
    if (template !== undefined && !isAbsolute(template)) throw unsupportedConfig('the <nvram template> path must be absolute');
    fw.nvram = { path: nvramPath, ...(template !== undefined ? { template } : {}) };
  }
  return fw;
}

/** The NVRAM file of `def`, or undefined. */
export function nvramPathOf(def: DomainDef): string | undefined {
  return firmwareOf(def)?.nvram?.path;
}

/** Adds the firmware's block nodes; returns the `-machine` properties that attach them. */
export function addFirmware(ctx: DeviceContext): string[] {
  const fw = firmwareOf(ctx.def);
  if (!fw) return [];
  if (fw.type === 'rom') {
    ctx.args.push('-bios', fw.loader);
    return [];
  }
  const props: string[] = [];
  const units: [string, boolean][] = [[fw.loader, true]];
  if (fw.nvram) units.push([fw.nvram.path, false]);
  units.forEach(([filename, readOnly], unit) => {
    const base = `libvirt-pflash${unit}`;
    ctx.args.push('-blockdev', JSON.stringify({ driver: 'file', filename, 'node-name': `${base}-storage`, 'auto-read-only': true, discard: 'unmap' }));
    ctx.args.push('-blockdev', JSON.stringify({ 'node-name': `${base}-format`, 'read-only': readOnly, driver: 'raw', file: `${base}-storage` }));
    props.push(`pflash${unit}=${base}-format`);
  });
  return props;
}
