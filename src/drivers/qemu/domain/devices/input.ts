/**
 * `<input>` as libvirt maps it: USB tablet, keyboard and mouse (usb-tablet, usb-kbd,
 * usb-mouse on the USB bus), virtio ones (virtio-*-pci), and PS/2 mouse and keyboard,
 * which are the chipset's own (nothing to add). A USB input with the USB controller
 * model none gets libvirt's refusal.
 */
import { attrValue, childElement, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import { requireUsbBus } from './controllers.js';
import { type DeviceContext, pushDevice } from './device-context.js';
import { pciPlacement } from './pci-address.js';
import { intAttr, notHonoured, refuseOtherChildren, unsupportedConfig } from './qemu-option.js';

const USB: Record<string, string> = { tablet: 'usb-tablet', keyboard: 'usb-kbd', mouse: 'usb-mouse' };
const VIRTIO: Record<string, string> = { tablet: 'virtio-tablet-pci', keyboard: 'virtio-keyboard-pci', mouse: 'virtio-mouse-pci' };

/** Adds every `<input>` of `devices`. */
export function addInputs(ctx: DeviceContext, devices: XmlElement | undefined): void {
  if (!devices) return;
  childElements(devices, 'input').forEach((input, i) => {
    refuseOtherChildren(input, ['address', 'alias']);
    const type = attrValue(input, 'type') ?? '';
    const bus = attrValue(input, 'bus') ?? (type === 'tablet' ? 'usb' : 'ps2');
    if (bus === 'ps2' && (type === 'mouse' || type === 'keyboard')) return; // the i8042 of pc and q35
    const id = `input${i}`;
    if (bus === 'usb' && USB[type]) {
      requireUsbBus(ctx, input);
      pushDevice(ctx, { driver: USB[type]!, id, bus: 'usb.0', ...usbPort(input) });
    } else if (bus === 'virtio' && VIRTIO[type]) {
      pushDevice(ctx, { driver: VIRTIO[type]!, id, ...pciPlacement(ctx, input) });
    } else {
      throw notHonoured(input);
    }
  });
}

/** `<address type='usb' port='N'>` → the USB port. */
function usbPort(input: XmlElement): { port?: string } {
  const address = childElement(input, 'address');
  if (!address) return {};
  if (attrValue(address, 'type') !== 'usb') throw unsupportedConfig(`address type '${attrValue(address, 'type') ?? ''}' of <input> is not supported by snapvirt`);
  const port = attrValue(address, 'port');
  if ((intAttr(address, 'bus') ?? 0) !== 0) throw unsupportedConfig('a USB address on a bus other than 0 is not supported by snapvirt');
  return port === undefined ? {} : { port };
}
