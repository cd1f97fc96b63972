/**
 * Whether KVM can be used: /dev/kvm exists AND this process may open it read-write
 * (a node that exists but is not ours, or a kernel without nested virtualisation, would
 * make `accel=kvm` fail at start). With the domain's type it picks the `-machine accel=` value.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { emulatorOf } from './devices/definition-coverage.js';

/** The accelerators snapvirt starts QEMU with. */
export type QemuAccelerator = 'kvm' | 'tcg';

/** True when /dev/kvm can be opened read-write by this process. */
export async function isKvmUsable(devicePath = '/dev/kvm'): Promise<boolean> {
  try {
    const fh = await open(devicePath, constants.O_RDWR);
    await fh.close();
    return true;
  } catch {
    return false;
  }
}

/** libvirt's default emulator on x86_64, named in its refusal when `<emulator>` is absent. */
const DEFAULT_EMULATOR_PATH = '/usr/bin/qemu-system-x86_64';

/**
 * The accelerator of a domain, as libvirt picks it: `<domain type='kvm'>` runs under KVM
 * and is refused with libvirt's message when /dev/kvm is not usable; `type='qemu'` runs
 * under TCG. SNAPVIRT_QEMU_ACCEL=tcg|kvm overrides both (the tests force tcg).
 */
export async function chooseAccelerator(def: DomainDef): Promise<QemuAccelerator> {
  const forced = process.env.SNAPVIRT_QEMU_ACCEL;
  if (forced === 'tcg' || forced === 'kvm') return forced;
  if (def.type !== 'kvm') return 'tcg';
  if (await isKvmUsable()) return 'kvm';
  const emulator = emulatorOf(def) ?? DEFAULT_EMULATOR_PATH;
  throw virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU, `Emulator '${emulator}' does not support virt type 'kvm'`);
}
