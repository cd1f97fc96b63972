/**
 * `<watchdog>` as libvirt maps it: i6300esb (PCI) or ib700 (ISA) as watchdog0, itco as
 * the q35 chipset's own TCO timer (enabled with ICH9-LPC.noreboot=off, as newer libvirt
 * does), and the action as `-watchdog-action` (libvirt's shutdown is QEMU's shutdown,
 * its default reset). dump needs a dump directory and is refused.
 */
import { attrValue, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import { type DeviceContext, pushDevice } from './device-context.js';
import { pciPlacement } from './pci-address.js';
import { refuseOtherAttributes, refuseOtherChildren, unsupportedConfig } from './qemu-option.js';

const ACTIONS = new Set(['reset', 'shutdown', 'poweroff', 'pause', 'none', 'inject-nmi']);

/** Adds the `<watchdog>` of `devices`, if any. */
export function addWatchdog(ctx: DeviceContext, devices: XmlElement | undefined): void {
  const all = devices ? childElements(devices, 'watchdog') : [];
  if (all.length > 1) throw unsupportedConfig('only a single watchdog device is supported');
  const wd = all[0];
  if (!wd) return;
  refuseOtherAttributes(wd, ['model', 'action']);
  refuseOtherChildren(wd, ['address', 'alias']);
  const model = attrValue(wd, 'model') ?? '';
  const action = attrValue(wd, 'action') ?? 'reset';
  if (!ACTIONS.has(action)) throw unsupportedConfig(`watchdog action '${action}' is not supported by snapvirt`);
  if (model === 'i6300esb') pushDevice(ctx, { driver: 'i6300esb', id: 'watchdog0', ...pciPlacement(ctx, wd) });
  else if (model === 'ib700') pushDevice(ctx, { driver: 'ib700', id: 'watchdog0' });
  else if (model === 'itco' && ctx.isQ35) ctx.args.push('-global', 'ICH9-LPC.noreboot=off');
  else if (model === 'itco') throw unsupportedConfig('iTCO watchdog is only supported on q35 machine type');
  else throw unsupportedConfig(`unknown watchdog model '${model}'`);
  ctx.args.push('-watchdog-action', action);
}
