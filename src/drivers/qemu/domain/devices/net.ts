/**
 * `<interface>` as libvirt maps it: `-netdev` (id hostnetN) plus a NIC `-device` (id
 * netN) of the model asked for (libvirt 9.0's default: rtl8139) with the definition's
 * MAC. `user` is slirp. `bridge` and `ethernet` are a tap device: QEMU creates it (as
 * root only, like libvirt's system driver; the kernel numbers `vnet%d`, or the `<target
 * dev>` name) and it vanishes with QEMU; after the start snapvirt brings it up and, for a
 * bridge, enslaves it (tap-setup.ts). `ethernet` with `<target managed='no'>` opens an
 * existing tap as is. `network` needs libvirt's virtual networks, which snapvirt does not
 * manage: refused by name.
 */
import { attrValue, childElement, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
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
  if (type !== 'user' && type !== 'bridge' && type !== 'ethernet') {
    throw unsupportedConfig(`${elementLabel(iface)} is not supported by snapvirt: only user, bridge and ethernet interfaces are`);
  }
  refuseOtherAttributes(iface, ['type']);
  refuseOtherChildren(iface, type === 'user' ? ['mac', 'model', 'address', 'alias', 'boot', 'link'] : ['mac', 'model', 'address', 'alias', 'boot', 'link', 'source', 'target']);
  const link = childElement(iface, 'link');
  if (link && attrValue(link, 'state') !== 'up') throw unsupportedConfig(`<link state='${attrValue(link, 'state') ?? ''}'> of ${elementLabel(iface)} is not supported by snapvirt`);
  const netdev = `hostnet${index}`;
  const backend = type === 'user' ? { type: 'user', id: netdev } : tapNetdev(ctx, iface, type, netdev);
  const modelElement = childElement(iface, 'model');
  const model = (modelElement && attrValue(modelElement, 'type')) ?? DEFAULT_MODEL;
  const driver = NIC_MODELS[model];
  if (driver === undefined || !hasDevice(ctx, driver)) {
    throw unsupportedConfig(`network interface model '${model}' is not supported by this QEMU binary`);
  }
  ctx.args.push('-netdev', qemuJson(backend));
  const props: QemuProps = { driver, netdev, id: `net${index}` };
  const mac = childElement(iface, 'mac');
  const address = mac ? attrValue(mac, 'address') : undefined;
  if (address !== undefined) props.mac = address;
  const boot = ctx.bootIndex.get(interfaceBootKey(index));
  if (boot !== undefined) props.bootindex = boot;
  pushDevice(ctx, { ...props, ...pciPlacement(ctx, iface) });
}

/** libvirt reserves these prefixes for names it generates; a `<target dev>` with one is replaced. */
const GENERATED_PREFIXES = ['vnet', 'macvtap', 'macvlan'];

/** The -netdev of a tap interface, and its host-side setup recorded in the context. */
function tapNetdev(ctx: DeviceContext, iface: XmlElement, type: 'bridge' | 'ethernet', netdev: string): QemuProps {
  const source = childElement(iface, 'source');
  const target = childElement(iface, 'target');
  if (target) refuseOtherAttributes(target, ['dev', 'managed']);
  if (source) refuseOtherAttributes(source, type === 'bridge' ? ['bridge'] : []);
  const bridge = source ? attrValue(source, 'bridge') : undefined;
  if (type === 'bridge' && bridge === undefined) {
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN, "No <source> 'bridge' attribute specified with <interface type='bridge'/>");
  }
  const managed = !(type === 'ethernet' && target !== undefined && attrValue(target, 'managed') === 'no');
  const dev = target ? attrValue(target, 'dev') : undefined;
  if (!managed && dev === undefined) throw unsupportedConfig("<target managed='no'> needs a dev name");
  const ifname = dev !== undefined && (!managed || !GENERATED_PREFIXES.some((p) => dev.startsWith(p))) ? dev : 'vnet%d';
  if (ctx.canCreateTaps === false && managed) {
    throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, `Unable to create tap device ${ifname}: Operation not permitted`);
  }
  if (managed) ctx.taps.push({ netdev, ...(bridge !== undefined ? { bridge } : {}) });
  return { type: 'tap', id: netdev, ifname, script: 'no', downscript: 'no' };
}
