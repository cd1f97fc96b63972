/**
 * `<memballoon model='virtio'>` → virtio-balloon-pci (balloon0; autodeflate →
 * deflate-on-oom, freePageReporting → free-page-reporting); `model='none'` adds nothing.
 * As libvirt, a `<currentMemory>` below `<memory>` is the balloon's target, set over QMP
 * once QEMU is up (without a balloon there is nothing to set, as with libvirt).
 * Statistics polling (`<stats period>`) is refused: snapvirt does not poll.
 */
import { attrValue, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import { type DeviceContext, pushDevice } from './device-context.js';
import { pciPlacement } from './pci-address.js';
import { notHonoured, refuseOtherAttributes, refuseOtherChildren, unsupportedConfig, type QemuProps } from './qemu-option.js';

/** Adds the `<memballoon>` of `devices`, if any. */
export function addMemballoon(ctx: DeviceContext, devices: XmlElement | undefined): void {
  const balloons = devices ? childElements(devices, 'memballoon') : [];
  if (balloons.length > 1) throw unsupportedConfig('only one <memballoon> is supported');
  const balloon = balloons[0];
  if (!balloon) return;
  const model = attrValue(balloon, 'model');
  if (model === 'none') return;
  if (model !== 'virtio') throw notHonoured(balloon);
  refuseOtherAttributes(balloon, ['model', 'autodeflate', 'freePageReporting']);
  refuseOtherChildren(balloon, ['address', 'alias']);
  const props: QemuProps = { driver: 'virtio-balloon-pci', id: 'balloon0' };
  if (attrValue(balloon, 'autodeflate') === 'on') props['deflate-on-oom'] = true;
  if (attrValue(balloon, 'freePageReporting') === 'on') props['free-page-reporting'] = true;
  pushDevice(ctx, { ...props, ...pciPlacement(ctx, balloon) });
  if (ctx.def.currentMemoryKiB < ctx.def.memoryKiB) {
    ctx.monitorSetup.push({ execute: 'balloon', arguments: { value: ctx.def.currentMemoryKiB * 1024 } });
  }
}
