/**
 * Runs snapshot-op-child.js with a `stop` failpoint: resolves once the child is frozen at
 * that point (SIGSTOP), so the test can change the world outside it (kill its QEMU) and
 * then let it carry on with resume().
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildResult } from './run-child-op.js';
import { waitUntilStopped } from './process-state.js';

/** A child operation frozen at its failpoint. */
export interface StoppedChild {
  pid: number;
  /** Sends SIGCONT and resolves with how the child ended. */
  resume(): Promise<ChildResult>;
}

/**
 * Starts one operation (create|revert|delete) with `SNAPVIRT_FAILPOINTS=<point>=stop@<nth>`:
 * only the nth hit stops, so a point inside a loop does not freeze the child again.
 */
export async function startChildOpStoppedAt(stateDir: string, point: string, args: string[], nth = 1): Promise<StoppedChild> {
  const script = fileURLToPath(new URL('./snapshot-op-child.js', import.meta.url));
  let ended!: (r: ChildResult) => void;
  const result = new Promise<ChildResult>((resolve) => { ended = resolve; });
  const child = execFile(process.execPath, [script, ...args], {
    env: { ...process.env, SNAPVIRT_CHILD_OP: '1', SNAPVIRT_STATE_DIR: stateDir, SNAPVIRT_FAILPOINTS: `${point}=stop@${nth}` },
  }, (_err, _stdout, stderr) => ended({ code: child.exitCode, signal: child.signalCode, stderr: String(stderr) }));
  try {
    await waitUntilStopped(child.pid!);
  } catch (err) {
    throw new Error(`${String(err)}: ${(await result).stderr}`);
  }
  return {
    pid: child.pid!,
    resume() {
      child.kill('SIGCONT');
      return result;
    },
  };
}
