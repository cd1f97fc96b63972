/**
 * `<video>` as libvirt maps it: the first (primary) video is the VGA-compatible device of
 * its model (virtio → virtio-vga, vga → VGA, qxl → qxl-vga, cirrus → cirrus-vga, bochs →
 * bochs-display, ramfb), further ones the secondary form (virtio-gpu-pci, qxl); `none`
 * adds nothing. A model this QEMU lacks gets libvirt's message.
 */
import { attrValue, childElement, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import { type DeviceContext, hasDevice, pushDevice } from './device-context.js';
import { pciPlacement } from './pci-address.js';
import { intAttr, refuseOtherAttributes, refuseOtherChildren, unsupportedConfig, type QemuProps } from './qemu-option.js';

const PRIMARY: Record<string, string> = {
  virtio: 'virtio-vga', vga: 'VGA', qxl: 'qxl-vga', cirrus: 'cirrus-vga', bochs: 'bochs-display', ramfb: 'ramfb',
};
const SECONDARY: Record<string, string> = { virtio: 'virtio-gpu-pci', qxl: 'qxl' };

/** Adds every `<video>` of `devices`. */
export function addVideo(ctx: DeviceContext, devices: XmlElement | undefined): void {
  if (!devices) return;
  childElements(devices, 'video').forEach((video, i) => {
    refuseOtherChildren(video, ['model', 'address', 'alias']);
    const model = childElement(video, 'model');
    if (model) {
      refuseOtherAttributes(model, ['type', 'vram', 'heads', 'primary', 'ram', 'vgamem']);
      refuseOtherChildren(model, []);
    }
    const type = (model && attrValue(model, 'type')) ?? 'vga';
    if (type === 'none') return;
    const table = i === 0 ? PRIMARY : SECONDARY;
    let driver = table[type];
    // Without virtio-vga (no VGA in this build), libvirt falls back to virtio-gpu-pci.
    if (driver === 'virtio-vga' && !hasDevice(ctx, driver)) driver = 'virtio-gpu-pci';
    if (driver === undefined) {
      throw unsupportedConfig(i === 0 ? `video type '${type}' is not supported by snapvirt` : `video type ${type} is only valid as primary video device`);
    }
    if (!hasDevice(ctx, driver)) throw unsupportedConfig(`this QEMU does not support '${type}' video device`);
    const props: QemuProps = { driver, id: `video${i}` };
    const heads = model ? intAttr(model, 'heads') : undefined;
    if (heads !== undefined && (type === 'virtio' || type === 'qxl')) props.max_outputs = heads;
    if (model && type === 'qxl') qxlMemory(model, props);
    if (model && type === 'vga') {
      const vram = intAttr(model, 'vram');
      if (vram !== undefined) props.vgamem_mb = Math.floor(vram / 1024);
    }
    pushDevice(ctx, { ...props, ...(driver === 'ramfb' ? {} : pciPlacement(ctx, video)) });
  });
}

/** libvirt's qxl sizes: ram and vram in KiB → bytes, vgamem in KiB → MiB. */
function qxlMemory(model: XmlElement, props: QemuProps): void {
  const ram = intAttr(model, 'ram');
  const vram = intAttr(model, 'vram');
  const vgamem = intAttr(model, 'vgamem');
  if (ram !== undefined) props.ram_size = ram * 1024;
  if (vram !== undefined) props.vram_size = vram * 1024;
  if (vgamem !== undefined) props.vgamem_mb = Math.floor(vgamem / 1024);
}
