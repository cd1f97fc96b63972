/** A description of the machine and the tool versions, for the report header. */
import { access, constants } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { runTimed } from './run-timed.js';

async function firstLine(cmd: string, args: string[]): Promise<string> {
  try {
    const r = await runTimed(cmd, args);
    return (r.stdout || r.stderr).trim().split('\n')[0] ?? '';
  } catch (err) {
    return `unavailable (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
}

async function kvmState(): Promise<string> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    return '/dev/kvm present';
  } catch {
    return 'no /dev/kvm';
  }
}

/** Markdown bullet list describing this machine. */
export async function describeMachine(): Promise<string> {
  const cpu = cpus();
  const lines = [
    `- date: ${new Date().toISOString()}`,
    `- CPUs: ${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`,
    `- load average at the end of the run: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (other engineers' test suites share this machine; every ratio compares numbers taken minutes apart under the same load)`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- kernel: ${release()} (${await kvmState()}; every QEMU in the bench runs with TCG so all sides are equal)`,
    `- node: ${process.version}`,
    `- ${await firstLine('qemu-img', ['--version'])}`,
    `- ${await firstLine('qemu-system-x86_64', ['--version'])}`,
    `- virsh: ${await firstLine('virsh', ['--version'])}`,
    `- libvirtd: ${await firstLine('/usr/sbin/libvirtd', ['--version'])}`,
  ];
  return lines.join('\n');
}
