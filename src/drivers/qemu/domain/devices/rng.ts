/**
 * `<rng model='virtio'>` with `<backend model='random'>` (/dev/urandom, /dev/random or
 * /dev/hwrng) as libvirt maps it: `-object rng-random` (objrngN) and a virtio-rng-pci
 * (rngN), with `<rate bytes period>` as max-bytes and period. Other backends are refused.
 */
import { attrValue, childElement, childElements, textContent, type XmlElement } from '../../../../conf/xml-tree.js';
import { type DeviceContext, pushDevice } from './device-context.js';
import { pciPlacement } from './pci-address.js';
import { intAttr, notHonoured, qemuJson, refuseOtherChildren, unsupportedConfig, type QemuProps } from './qemu-option.js';

const RANDOM_SOURCES = new Set(['/dev/urandom', '/dev/random', '/dev/hwrng']);

/** Adds every `<rng>` of `devices`. */
export function addRngs(ctx: DeviceContext, devices: XmlElement | undefined): void {
  if (!devices) return;
  childElements(devices, 'rng').forEach((rng, i) => {
    refuseOtherChildren(rng, ['backend', 'rate', 'address', 'alias']);
    if (attrValue(rng, 'model') !== 'virtio') throw notHonoured(rng);
    const backend = childElement(rng, 'backend');
    if (!backend || attrValue(backend, 'model') !== 'random') throw notHonoured(backend ?? rng, rng);
    const source = textContent(backend).trim() || '/dev/urandom';
    if (!RANDOM_SOURCES.has(source)) throw unsupportedConfig(`file '${source}' is not a supported random source`);
    ctx.args.push('-object', qemuJson({ 'qom-type': 'rng-random', id: `objrng${i}`, filename: source }));
    const props: QemuProps = { driver: 'virtio-rng-pci', rng: `objrng${i}`, id: `rng${i}` };
    const rate = childElement(rng, 'rate');
    const bytes = rate ? intAttr(rate, 'bytes') : undefined;
    const period = rate ? intAttr(rate, 'period') : undefined;
    if (bytes !== undefined) props['max-bytes'] = bytes;
    if (period !== undefined) props.period = period;
    pushDevice(ctx, { ...props, ...pciPlacement(ctx, rng) });
  });
}
