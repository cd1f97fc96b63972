/**
 * The tiny real guest of the quiesce tests (Debian's cloud kernel, busybox-static and
 * qemu-guest-agent, built once by guest/build-guest.sh from `apt-get download` +
 * `dpkg-deb -x` into a cache dir): building it, its ext4 data disk, its domain XML, and
 * talking to its agent.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import type { Domain } from '../../../../src/api/domain.js';
import { parseRuntime, runtimeDirFor } from '../../../../src/drivers/qemu/domain/active-runtime.js';
import type { QemuDriver } from '../../../../src/drivers/qemu/qemu-driver.js';
import { qemuRuntimePaths } from '../../../../src/drivers/qemu/domain/qemu-process.js';
import { GuestAgent } from '../../../../src/drivers/qemu/qmp/guest-agent.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { killAllQemu } from './active-env.js';

const run = promisify(execFile);
const BUILD = fileURLToPath(new URL('../../../../../test/drivers/qemu/support/guest/build-guest.sh', import.meta.url));
// Versioned: a guest built by an older build-guest.sh (no NIC driver) is not reused.
const GUEST_CACHE = '/tmp/snapvirt-test-guest-2';

/** Builds the guest's kernel and initramfs into the cache (a no-op once built). */
export async function buildTinyGuest(): Promise<void> {
  await run('sh', [BUILD, GUEST_CACHE], { timeout: 300_000 });
}

/** The guest built, a fresh environment (every QEMU killed and the files removed after `t`), and its data disk. */
export interface TinyGuestWorld {
  env: QemuTestEnv;
  /** The guest's data disk (makeGuestDataDisk). */
  data: string;
  /** Where the guest agent of `dom`'s current QEMU answers (a revert through a new QEMU moves it). */
  agentSocketOf(dom: Domain): string;
}

export async function tinyGuestWorld(t: TestContext): Promise<TinyGuestWorld> {
  await buildTinyGuest();
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  return {
    env,
    data: await makeGuestDataDisk(env.imageDir),
    agentSocketOf: (dom) => {
      const runtime = (env.conn.driver as QemuDriver).store.domains.get(dom.getUUIDString())?.runtime ?? null;
      const runtimeDir = parseRuntime(runtime)?.runtimeDir ?? runtimeDirFor(env.stateDir, dom.getUUIDString());
      return qemuRuntimePaths(runtimeDir).guestAgentSocket;
    },
  };
}

/** A 32 MiB qcow2 image holding an empty ext4 file system, at `<dir>/data.qcow2`. */
export async function makeGuestDataDisk(dir: string): Promise<string> {
  const raw = join(dir, 'data.raw');
  const data = join(dir, 'data.qcow2');
  await run('truncate', ['-s', '32M', raw]);
  await run('mkfs.ext4', ['-q', '-F', raw]);
  await run('qemu-img', ['convert', '-O', 'qcow2', raw, data]);
  return data;
}

/** More for the guest's definition: devices (NIC, serial…) and kernel arguments. */
export interface TinyGuestExtras {
  devices?: string;
  cmdline?: string;
  /** Boot through OVMF (the kernel from fw_cfg), with this variable store. */
  uefiNvram?: string;
}

/** The `<domain>` of the guest 'guest', booting the cached kernel with `data` as vda and an agent channel. */
export function tinyGuestXml(data: string, extras: TinyGuestExtras = {}): string {
  return `<domain type='qemu'>
  <name>guest</name>
  <memory unit='KiB'>262144</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>${extras.uefiNvram ? `
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>${extras.uefiNvram}</nvram>` : ''}
    <kernel>${GUEST_CACHE}/vmlinuz</kernel>
    <initrd>${GUEST_CACHE}/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1${extras.cmdline ? ` ${extras.cmdline}` : ''}</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${data}'/><target dev='vda' bus='virtio'/></disk>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>${extras.devices ?? ''}
  </devices>
</domain>`;
}

/** One agent command over a fresh connection to the agent's socket. */
export async function agentCall(sock: string, command: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<unknown> {
  const agent = await GuestAgent.connect(sock, 2000);
  try {
    return await agent.execute(command, args, timeoutMs);
  } finally {
    agent.close();
  }
}

/** Waits (bounded, generously: TCG on a busy host) until the guest's agent answers. */
export async function waitForAgent(sock: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await agentCall(sock, 'guest-ping');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Runs `script` with the guest's /bin/sh (the agent's guest-exec); resolves to its exit code and standard output. */
export async function guestShell(sock: string, script: string): Promise<{ exitcode: number | undefined; out: Buffer }> {
  const { pid } = await agentCall(sock, 'guest-exec', { path: '/bin/sh', arg: ['-c', script], 'capture-output': true }) as { pid: number };
  for (let i = 0; i < 300; i++) {
    const status = await agentCall(sock, 'guest-exec-status', { pid }) as { exited: boolean; exitcode?: number; 'out-data'?: string };
    if (status.exited) return { exitcode: status.exitcode, out: Buffer.from(status['out-data'] ?? '', 'base64') };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`guest-exec of '${script}' never finished`);
}
