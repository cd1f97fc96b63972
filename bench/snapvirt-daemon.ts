/**
 * A private snapvirtd for the bench: its own socket and state directory, QEMU under TCG
 * like every other side, reached by real virsh through `qemu+unix:///session?socket=…`.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runTimed, type TimedRun } from './run-timed.js';

/** A running snapvirtd started by the bench. */
export interface SnapvirtDaemon {
  uri: string;
  /** Runs `virsh -q -c uri …args`, failing on a non-zero exit. */
  virsh(args: readonly string[]): Promise<TimedRun>;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts `bin/snapvirtd --socket DIR/sock` with its state in DIR/state. */
export async function startSnapvirtDaemon(daemonBin: string, dir: string): Promise<SnapvirtDaemon> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const socket = join(dir, 'sock');
  const env = { ...process.env, SNAPVIRT_STATE_DIR: join(dir, 'state'), SNAPVIRT_QEMU_ACCEL: 'tcg', LC_ALL: 'C' };
  const child = spawn(process.execPath, [daemonBin, '--socket', socket, '--log-file', join(dir, 'snapvirtd.log')], { env, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const uri = `qemu+unix:///session?socket=${socket}`;
  const virsh = (args: readonly string[]): Promise<TimedRun> => runTimed('virsh', ['-q', '-c', uri, ...args]);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  let lastErr: unknown;
  for (let i = 0; i < 100; i++) {
    try {
      await virsh(['list', '--all']);
      return { uri, virsh, stop };
    } catch (err) {
      lastErr = err;
      if (child.exitCode !== null) break;
      await sleep(100);
    }
  }
  await stop();
  throw lastErr instanceof Error ? lastErr : new Error(`snapvirtd did not answer on ${socket}`);
}
