/**
 * `<cpu>` as libvirt maps it on x86: host-passthrough is `-cpu host` under KVM and
 * refused under TCG with libvirt's message; host-model is `-cpu host` under KVM and
 * `-cpu max` under TCG (libvirt expands it to a named model plus features; see
 * docs/COMPATIBILITY.md); maximum is `-cpu max`; custom is the named model (checked
 * against this QEMU, libvirt's "Unknown CPU model") with its features on or off. The
 * topology becomes `-smp`'s sockets/dies/cores/threads and must multiply to the vCPUs.
 */
import { attrValue, childElement, childElements, textContent, type XmlElement } from '../../../../conf/xml-tree.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import type { DeviceContext } from './device-context.js';
import { intAttr, refuseOtherAttributes, refuseOtherChildren, unsupportedConfig } from './qemu-option.js';

const FEATURE_ON = new Set(['require', 'force']);
const FEATURE_OFF = new Set(['disable', 'forbid']);

/** The -cpu and -smp arguments for the definition. */
export function addCpu(ctx: DeviceContext): void {
  const cpu = childElement(ctx.def.element, 'cpu');
  ctx.args.push('-smp', smpArg(ctx, cpu));
  if (!cpu) return;
  refuseOtherAttributes(cpu, ['mode', 'match', 'check', 'migratable']);
  refuseOtherChildren(cpu, ['model', 'vendor', 'topology', 'feature']);
  const mode = attrValue(cpu, 'mode') ?? 'custom';
  if (mode === 'host-passthrough') {
    if (ctx.accel !== 'kvm') {
      throw unsupportedConfig(`CPU mode 'host-passthrough' for x86_64 ${ctx.def.type} domain on x86_64 host is not supported by hypervisor`);
    }
    ctx.args.push('-cpu', 'host');
  } else if (mode === 'host-model') {
    ctx.args.push('-cpu', ctx.accel === 'kvm' ? 'host' : 'max');
  } else if (mode === 'maximum') {
    ctx.args.push('-cpu', 'max');
  } else if (mode === 'custom') {
    const custom = customCpu(ctx, cpu);
    if (custom !== undefined) ctx.args.push('-cpu', custom);
  } else {
    throw unsupportedConfig(`CPU mode '${mode}' is not supported by snapvirt`);
  }
}

function customCpu(ctx: DeviceContext, cpu: XmlElement): string | undefined {
  const modelElement = childElement(cpu, 'model');
  const model = modelElement ? textContent(modelElement).trim() : undefined;
  const features = childElements(cpu, 'feature');
  if (model === undefined && features.length === 0) return undefined;
  const name = model ?? 'qemu64';
  if (ctx.caps && !ctx.caps.cpuModels.has(name)) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `Unknown CPU model ${name}`);
  }
  const parts = [name];
  for (const f of features) {
    const policy = attrValue(f, 'policy') ?? 'require';
    const fname = attrValue(f, 'name') ?? '';
    if (!/^[A-Za-z0-9_.-]+$/.test(fname)) throw unsupportedConfig(`CPU feature '${fname}'`);
    if (FEATURE_ON.has(policy)) parts.push(`${fname}=on`);
    else if (FEATURE_OFF.has(policy)) parts.push(`${fname}=off`);
    else throw unsupportedConfig(`CPU feature policy '${policy}' is not supported by snapvirt`);
  }
  return parts.join(',');
}

function smpArg(ctx: DeviceContext, cpu: XmlElement | undefined): string {
  const vcpus = ctx.def.vcpus;
  const topology = cpu ? childElement(cpu, 'topology') : undefined;
  if (!topology) return String(vcpus);
  refuseOtherAttributes(topology, ['sockets', 'dies', 'clusters', 'cores', 'threads']);
  const sockets = intAttr(topology, 'sockets') ?? 1;
  const dies = intAttr(topology, 'dies') ?? 1;
  const cores = intAttr(topology, 'cores') ?? 1;
  const threads = intAttr(topology, 'threads') ?? 1;
  if (sockets * dies * cores * threads !== vcpus) throw unsupportedConfig("CPU topology doesn't match maximum vcpu count");
  return `${vcpus},sockets=${sockets},${dies !== 1 ? `dies=${dies},` : ''}cores=${cores},threads=${threads}`;
}
