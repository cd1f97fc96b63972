/**
 * A device's `<address type='pci' bus slot function multifunction>` as -device
 * properties, with libvirt's naming: bus 0 is the machine's root bus (pci.0 or pcie.0),
 * bus N the controller of index N (id pci.N). A device without an address goes where
 * QEMU puts it. Any other address type on a PCI device is refused.
 */
import { attrValue, childElement, type XmlElement } from '../../../../conf/xml-tree.js';
import { type DeviceContext, rootBus } from './device-context.js';
import { elementLabel, intAttr, refuseOtherAttributes, unsupportedConfig, type QemuProps } from './qemu-option.js';

/** The bus/addr properties of a PCI device element (empty when it has no `<address>`). */
export function pciPlacement(ctx: DeviceContext, device: XmlElement): QemuProps {
  const address = childElement(device, 'address');
  if (!address) return {};
  const type = attrValue(address, 'type');
  if (type !== 'pci') {
    throw unsupportedConfig(`address type '${type ?? ''}' of ${elementLabel(device)} is not supported by snapvirt`);
  }
  refuseOtherAttributes(address, ['type', 'domain', 'bus', 'slot', 'function', 'multifunction']);
  if ((intAttr(address, 'domain') ?? 0) !== 0) throw unsupportedConfig(`PCI domain other than 0 in ${elementLabel(device)}`);
  const bus = intAttr(address, 'bus') ?? 0;
  const slot = intAttr(address, 'slot') ?? 0;
  const fn = intAttr(address, 'function') ?? 0;
  if (slot > 31 || fn > 7) throw unsupportedConfig(`PCI address ${bus}:${slot}.${fn} of ${elementLabel(device)} is out of range`);
  const busId = bus === 0 ? rootBus(ctx) : `pci.${bus}`;
  if (bus !== 0 && !ctx.created.has(busId)) {
    throw unsupportedConfig(`${elementLabel(device)} is on PCI bus ${bus}, but no PCI controller with index ${bus} is defined`);
  }
  const props: QemuProps = { bus: busId, addr: fn === 0 ? `0x${slot.toString(16)}` : `0x${slot.toString(16)}.0x${fn.toString(16)}` };
  if (attrValue(address, 'multifunction') === 'on') props.multifunction = true;
  return props;
}
