/**
 * Whether KVM can be used: /dev/kvm exists AND this process may open it read-write
 * (a node that exists but is not ours, or a kernel without nested virtualisation, would
 * make `accel=kvm` fail at start). The result picks the `-machine accel=` value.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

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

/** `kvm` when usable, else `tcg`; SNAPVIRT_QEMU_ACCEL=tcg|kvm overrides (tests force tcg). */
export async function chooseAccelerator(): Promise<QemuAccelerator> {
  const forced = process.env.SNAPVIRT_QEMU_ACCEL;
  if (forced === 'tcg' || forced === 'kvm') return forced;
  return (await isKvmUsable()) ? 'kvm' : 'tcg';
}
