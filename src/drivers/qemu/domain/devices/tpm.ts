/**
 * `<tpm model='tpm-crb'|'tpm-tis'><backend type='emulator' version='2.0'/></tpm>` as
 * libvirt maps it: swtpm (started before QEMU, see tpm/swtpm-process.ts) serves a unix
 * socket that QEMU reaches through `-chardev socket,id=chrtpm`, `-tpmdev emulator,
 * id=tpm-tpm0,chardev=chrtpm` and `-device tpm-crb|tpm-tis,tpmdev=tpm-tpm0,id=tpm0`.
 * One TPM per domain (libvirt allows one of each kind; the proxy kind is refused), TPM 2.0
 * only; passthrough, external backends, encrypted state and persistent_state are refused.
 */
import type { DomainDef } from '../../../../conf/domain-types.js';
import { attrValue, childElement, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import { type DeviceContext, hasDevice, pushDevice } from './device-context.js';
import { escapeOpt, notHonoured, refuseOtherAttributes, refuseOtherChildren, unsupportedConfig } from './qemu-option.js';

const MODELS = new Set(['tpm-crb', 'tpm-tis']);

/** The checked `<tpm>` of a definition. */
export interface TpmDef {
  model: 'tpm-crb' | 'tpm-tis';
}

/** The emulated TPM of `def`, or undefined when it has none; refuses what snapvirt does not run. */
export function tpmOf(def: DomainDef): TpmDef | undefined {
  const devices = childElement(def.element, 'devices');
  const tpms = devices ? childElements(devices, 'tpm') : [];
  if (tpms.length === 0) return undefined;
  if (tpms.length > 1) throw unsupportedConfig('only a single TPM device is supported by snapvirt');
  const tpm = tpms[0] as XmlElement;
  refuseOtherAttributes(tpm, ['model']);
  refuseOtherChildren(tpm, ['backend', 'alias']);
  // libvirt 9.0's default model on x86_64 is tpm-tis.
  const model = attrValue(tpm, 'model') ?? 'tpm-tis';
  if (!MODELS.has(model)) throw notHonoured(tpm);
  const backend = childElement(tpm, 'backend');
  if (!backend || attrValue(backend, 'type') !== 'emulator') throw notHonoured(backend ?? tpm, tpm);
  refuseOtherAttributes(backend, ['type', 'version']);
  refuseOtherChildren(backend, []);
  const version = attrValue(backend, 'version') ?? '2.0';
  if (version !== '2.0') throw unsupportedConfig(`TPM version '${version}' is not supported by snapvirt (2.0 only)`);
  return { model: model as TpmDef['model'] };
}

/** Adds the TPM of the definition; `socketPath` is swtpm's (a placeholder while only checking). */
export function addTpm(ctx: DeviceContext, socketPath: string | undefined): void {
  const tpm = tpmOf(ctx.def);
  if (!tpm) return;
  if (!hasDevice(ctx, tpm.model)) throw unsupportedConfig(`TPM model '${tpm.model}' is not supported by this QEMU binary`);
  ctx.args.push('-chardev', `socket,id=chrtpm,path=${escapeOpt(socketPath ?? 'swtpm.sock')}`);
  ctx.args.push('-tpmdev', 'emulator,id=tpm-tpm0,chardev=chrtpm');
  pushDevice(ctx, { driver: tpm.model, tpmdev: 'tpm-tpm0', id: 'tpm0' });
}
