/**
 * `<controller>` elements, as libvirt maps them: USB (qemu-xhci, nec-xhci, piix3/piix4
 * UHCI, ich9 EHCI, or none: id "usb", devices on usb.0), PCI (the root buses are the
 * machine's own; pcie-root-port, pci-bridge and pcie-to-pci-bridge become pci.N),
 * virtio-serial (virtio-serial0) and virtio-scsi (scsi0), and the chipset's own IDE/SATA
 * controller. Controllers go on the command line before the devices that sit on them.
 */
import { attrValue, childElement, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import { type DeviceContext, hasDevice, pushDevice, rootBus } from './device-context.js';
import { pciPlacement } from './pci-address.js';
import { elementLabel, intAttr, notHonoured, refuseOtherChildren, unsupportedConfig, type QemuProps } from './qemu-option.js';

const USB_MODELS: Record<string, string> = {
  'qemu-xhci': 'qemu-xhci',
  'nec-xhci': 'nec-usb-xhci',
  'piix3-uhci': 'piix3-usb-uhci',
  'piix4-uhci': 'piix4-usb-uhci',
  ehci: 'usb-ehci',
  'ich9-ehci1': 'ich9-usb-ehci1',
};

const PCI_MODELS: Record<string, string> = {
  'pcie-root-port': 'pcie-root-port',
  'pci-bridge': 'pci-bridge',
  'pcie-to-pci-bridge': 'pcie-pci-bridge',
};

/** Adds every declared controller (PCI ones first, in index order, so later buses can sit on earlier ones). */
export function addControllers(ctx: DeviceContext, devices: XmlElement | undefined): void {
  if (!devices) return;
  const controllers = childElements(devices, 'controller');
  const pci = controllers.filter((c) => attrValue(c, 'type') === 'pci')
    .sort((a, b) => (intAttr(a, 'index') ?? 0) - (intAttr(b, 'index') ?? 0));
  for (const c of pci) addPciController(ctx, c);
  for (const c of controllers) {
    refuseOtherChildren(c, ['model', 'target', 'address', 'alias']);
    const type = attrValue(c, 'type');
    const index = intAttr(c, 'index') ?? 0;
    if (type === 'pci') continue;
    if (type === 'usb') addUsbController(ctx, c, index);
    else if (type === 'virtio-serial' && index === 0) addVirtioSerial(ctx, c);
    else if (type === 'scsi' && index === 0 && (attrValue(c, 'model') ?? 'virtio-scsi') === 'virtio-scsi') addVirtioScsi(ctx, c);
    else if ((type === 'sata' && ctx.isQ35 && index === 0) || (type === 'ide' && !ctx.isQ35 && index === 0)) continue; // the chipset's own
    else if (type === 'sata' && index === 0) addSata(ctx, c);
    else throw notHonoured(c);
  }
}

/** Makes sure a USB bus exists for a USB device: the declared controller, else the machine's default one (as libvirt adds). */
export function requireUsbBus(ctx: DeviceContext, device: XmlElement): void {
  if (ctx.created.has('usb')) return;
  if (ctx.created.has('usb:none')) throw unsupportedConfig(usbDisabledMessage(device));
  pushDevice(ctx, { driver: ctx.isQ35 ? 'qemu-xhci' : 'piix3-usb-uhci', id: 'usb' });
  ctx.created.add('usb');
}

/** libvirt's refusal of a USB device when the USB controller model is none. */
function usbDisabledMessage(device: XmlElement): string {
  return device.name === 'input' ? "Can't add USB input device. USB bus is disabled" : `Can't add USB device ${elementLabel(device)}. USB bus is disabled`;
}

/** A virtio-serial bus for consoles and channels (declared, or added on first need as libvirt does). */
export function addVirtioSerial(ctx: DeviceContext, declared?: XmlElement): void {
  if (ctx.created.has('virtio-serial0')) return;
  pushDevice(ctx, { driver: 'virtio-serial-pci', id: 'virtio-serial0', ...(declared ? pciPlacement(ctx, declared) : {}) }, true);
  ctx.created.add('virtio-serial0');
}

/** The virtio-scsi controller scsi0 (declared, or added for the first SCSI disk). */
export function addVirtioScsi(ctx: DeviceContext, declared?: XmlElement): void {
  if (ctx.created.has('scsi0')) return;
  pushDevice(ctx, { driver: 'virtio-scsi-pci', id: 'scsi0', ...(declared ? pciPlacement(ctx, declared) : {}) }, true);
  ctx.created.add('scsi0');
}

/** An AHCI controller sata0 on the pc machine (q35 has one built in). */
export function addSata(ctx: DeviceContext, declared?: XmlElement): void {
  if (ctx.created.has('sata0')) return;
  pushDevice(ctx, { driver: 'ahci', id: 'sata0', ...(declared ? pciPlacement(ctx, declared) : {}) }, true);
  ctx.created.add('sata0');
}

function addUsbController(ctx: DeviceContext, c: XmlElement, index: number): void {
  const q35Default = ctx.isQ35 ? 'qemu-xhci' : 'piix3-uhci';
  const model = attrValue(c, 'model') ?? q35Default;
  if (index !== 0) throw unsupportedConfig(`${elementLabel(c)} with index ${index}: snapvirt supports one USB controller`);
  if (model === 'none') {
    ctx.created.add('usb:none');
    return;
  }
  const driver = USB_MODELS[model];
  if (driver === undefined || !hasDevice(ctx, driver)) throw notHonoured(c);
  const ports = intAttr(c, 'ports');
  if (ports !== undefined && !driver.endsWith('xhci')) throw unsupportedConfig(`attribute 'ports' of ${elementLabel(c)} is not supported by snapvirt`);
  // libvirt: an xHCI controller's ports are its USB 2 and USB 3 port counts.
  pushDevice(ctx, { driver, id: 'usb', ...(ports !== undefined ? { p2: ports, p3: ports } : {}), ...pciPlacement(ctx, c) }, true);
  ctx.created.add('usb');
}

function addPciController(ctx: DeviceContext, c: XmlElement): void {
  const index = intAttr(c, 'index') ?? 0;
  const model = attrValue(c, 'model');
  if (index === 0) {
    if (model !== undefined && model !== (ctx.isQ35 ? 'pcie-root' : 'pci-root')) throw notHonoured(c);
    return;
  }
  const driver = model === undefined ? undefined : PCI_MODELS[model];
  if (driver === undefined) throw notHonoured(c);
  const target = childElement(c, 'target');
  const chassis = (target && intAttr(target, 'chassis')) ?? index;
  const props: QemuProps = driver === 'pcie-root-port'
    ? { driver, port: (target && intAttr(target, 'port')) ?? 0x10 + index - 1, chassis, id: `pci.${index}` }
    : driver === 'pci-bridge' ? { driver, chassis_nr: chassis, id: `pci.${index}` } : { driver, id: `pci.${index}` };
  const placement = pciPlacement(ctx, c);
  pushDevice(ctx, { ...props, bus: rootBus(ctx), ...placement }, true);
  ctx.created.add(`pci.${index}`);
}

