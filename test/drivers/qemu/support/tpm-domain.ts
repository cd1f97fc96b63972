/**
 * A small domain with an emulated TPM for the vTPM tests: one qcow2 disk, `<tpm model>`
 * with the swtpm backend (TPM 2.0).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `<tpm model='MODEL'>` with the emulator backend, TPM 2.0. */
export const emulatorTpm = (model: string): string => `<tpm model='${model}'><backend type='emulator' version='2.0'/></tpm>`;

/** The `<domain>` of `name` on `disk` with the devices `tpm` (one or more `<tpm>`). */
export function tpmDomainXml(name: string, disk: string, tpm: string, machine = 'pc'): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='${machine}'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
  ${tpm}</devices></domain>`;
}

/** A new 1 MiB qcow2 disk `<dir>/<name>.qcow2`. */
export async function tpmTestDisk(dir: string, name: string): Promise<string> {
  const disk = join(dir, `${name}.qcow2`);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '1M']);
  return disk;
}

/** The pids of every swtpm whose command line names `text`. */
export async function swtpmsNaming(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.startsWith('swtpm\0') && cmdline.includes(text)) pids.push(Number(entry));
  }
  return pids;
}
