/**
 * A small UEFI domain for the NVRAM tests: Debian's OVMF (the 4 MiB build), a variable
 * store at a given path made from OVMF's template, one qcow2 disk.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's OVMF code and variable store template. */
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/** The `<domain>` of UEFI domain `name` on `disk`, its NVRAM at `nvram`. */
export function uefiDomainXml(name: string, disk: string, nvram: string): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <loader readonly='yes' type='pflash'>${OVMF_CODE}</loader><nvram template='${OVMF_VARS}'>${nvram}</nvram></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices>
</domain>`;
}

/** A new qcow2 disk `<dir>/<name>.qcow2` and the XML of UEFI domain `name` on it, its NVRAM `<dir>/<name>_VARS.fd` (not created). */
export async function uefiDomainIn(dir: string, name: string, diskSize = '1M'): Promise<{ xml: string; disk: string; nvram: string }> {
  const disk = join(dir, `${name}.qcow2`);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, diskSize]);
  const nvram = join(dir, `${name}_VARS.fd`);
  return { xml: uefiDomainXml(name, disk, nvram), disk, nvram };
}
