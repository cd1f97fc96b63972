/**
 * `<interface>` as libvirt maps it: `-netdev` (id hostnetN) plus a NIC `-device` (id
 * netN) of the model asked for (libvirt 9.0's default: rtl8139) with the definition's
 * MAC. Only user-mode networking (slirp) is honoured: `network` needs libvirt's virtual
 * networks, which snapvirt does not manage, and `bridge`/`ethernet` need tap devices set
 * up and torn down with the domain, which it does not do yet; both are refused by name.
 */
import { attrValue, childElement, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import { interfaceBootKey } from './boot-order.js';
import { type DeviceContext, hasDevice, pushDevice } from './device-context.js';
import { pciPlacement } from './pci-address.js';
import { elementLabel, qemuJson, refuseOtherAttributes, refuseOtherChildren, unsupportedConfig, type QemuProps } from './qemu-option.js';

/** libvirt's `<model type>` names → QEMU NIC devices. */
const NIC_MODELS: Record<string, string> = {
  virtio: 'virtio-net-pci',
  e1000: 'e1000',
  e1000e: 'e1000e',
  rtl8139: 'rtl8139',
  ne2k_pci: 'ne2k_pci',
  pcnet: 'pcnet',
  vmxnet3: 'vmxnet3',
  i82550: 'i82550',
  i82551: 'i82551',
  i82557b: 'i82557b',
  i82559er: 'i82559er',
};

/** The default model of libvirt 9.0 on x86 (what `domxml-to-native` prints without `<model>`). */
const DEFAULT_MODEL = 'rtl8139';

/** Adds every `<interface>` of `devices`. */
export function addInterfaces(ctx: DeviceContext, devices: XmlElement | undefined): void {
  if (!devices) return;
  childElements(devices, 'interface').forEach((iface, i) => addInterface(ctx, iface, i));
}

function addInterface(ctx: DeviceContext, iface: XmlElement, index: number): void {
  const type = attrValue(iface, 'type');
  if (type === 'network') {
    const source = childElement(iface, 'source');
    const name = source ? attrValue(source, 'network') : undefined;
    throw unsupportedConfig(`${elementLabel(iface)}${name ? ` (network '${name}')` : ''} is not supported by snapvirt: it manages no virtual networks; use <interface type='user'>`);
  }
  if (type !== 'user') {
    throw unsupportedConfig(`${elementLabel(iface)} is not supported by snapvirt: only user-mode networking (<interface type='user'>) is`);
  }
  refuseOtherAttributes(iface, ['type']);
  refuseOtherChildren(iface, ['mac', 'model', 'address', 'alias', 'boot', 'link']);
  const link = childElement(iface, 'link');
  if (link && attrValue(link, 'state') !== 'up') throw unsupportedConfig(`<link state='${attrValue(link, 'state') ?? ''}'> of ${elementLabel(iface)} is not supported by snapvirt`);
  const modelElement = childElement(iface, 'model');
  const model = (modelElement && attrValue(modelElement, 'type')) ?? DEFAULT_MODEL;
  const driver = NIC_MODELS[model];
  if (driver === undefined || !hasDevice(ctx, driver)) {
    throw unsupportedConfig(`network interface model '${model}' is not supported by this QEMU binary`);
  }
  const netdev = `hostnet${index}`;
  ctx.args.push('-netdev', qemuJson({ type: 'user', id: netdev }));
  const props: QemuProps = { driver, netdev, id: `net${index}` };
  const mac = childElement(iface, 'mac');
  const address = mac ? attrValue(mac, 'address') : undefined;
  if (address !== undefined) props.mac = address;
  const boot = ctx.bootIndex.get(interfaceBootKey(index));
  if (boot !== undefined) props.bootindex = boot;
  pushDevice(ctx, { ...props, ...pciPlacement(ctx, iface) });
}
