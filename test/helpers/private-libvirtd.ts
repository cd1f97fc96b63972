/**
 * Real libvirtd's qemu driver as an oracle: a private libvirtd 9.0 (bench/libvirt-daemon.ts
 * sets it up: root QEMU without security driver, cgroups or namespaces, its sockets in a
 * scratch directory, qemu.conf put back on stop) and a way to run the same virsh command line
 * against it and against snapvirt's qemu:///session, with stdout, stderr and exit status.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BENCH_DOMAIN_PREFIX, startLibvirtDaemon, type LibvirtDaemon } from '../../bench/libvirt-daemon.js';
import { lockPrivateLibvirtd } from './libvirtd-host-lock.js';

const BIN = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));

/** What one command line produced. */
export interface CommandOutcome {
  stdout: string;
  stderr: string;
  code: number;
}

/** Domains defined in the private libvirtd must carry this prefix, so stop() removes them. */
export const ORACLE_DOMAIN_PREFIX = BENCH_DOMAIN_PREFIX;

function runProgram(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    execFile(file, args, { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ stdout, stderr, code });
    });
  });
}

/** A started private libvirtd plus runners for virsh (against it) and snapvirt (qemu:///session). */
export interface QemuOracle {
  daemon: LibvirtDaemon;
  /** `virsh -c <private URI> <commands>` (one batch argument). */
  virsh(commands: string): Promise<CommandOutcome>;
  /** `snapvirt -c qemu:///session <commands>` on `stateDir`. */
  snapvirt(commands: string): Promise<CommandOutcome>;
  stop(): Promise<void>;
}

/** Host directories a system libvirtd creates on its first start; those it created are removed again. */
const DAEMON_DIRS = [
  '/etc/libvirt/nwfilter', '/etc/libvirt/secrets', '/etc/libvirt/storage', '/run/libvirt',
  '/var/lib/libvirt', '/var/cache/libvirt', '/var/log/libvirt',
];

/** Whether another libvirtd runs (then the shared directories are left alone). */
function otherLibvirtdRuns(): boolean {
  return readdirSync('/proc').some((pid) => /^[0-9]+$/.test(pid) &&
    (() => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'libvirtd'; } catch { return false; } })());
}

/** Starts libvirtd in `daemonDir`; snapvirt keeps its state in `stateDir`. */
export async function startQemuOracle(daemonDir: string, stateDir: string): Promise<QemuOracle> {
  const unlock = await lockPrivateLibvirtd();
  const created = DAEMON_DIRS.filter((dir) => !existsSync(dir));
  const removeCreated = async (): Promise<void> => {
    if (otherLibvirtdRuns()) return;
    for (const dir of created) await rm(dir, { recursive: true, force: true });
  };
  let daemon: LibvirtDaemon;
  try {
    daemon = await startLibvirtDaemon(daemonDir, () => undefined);
  } catch (err) {
    await removeCreated();
    await unlock();
    throw err;
  }
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', TZ: 'UTC', HOME: daemonDir };
  return {
    daemon,
    virsh: (commands) => runProgram('virsh', ['-c', daemon.uri, commands], env),
    snapvirt: (commands) => runProgram(process.execPath, [BIN, '-c', 'qemu:///session', commands], { ...env, SNAPVIRT_STATE_DIR: stateDir }),
    stop: async () => {
      try {
        await daemon.stop();
        await removeCreated();
      } finally {
        await unlock();
      }
    },
  };
}
