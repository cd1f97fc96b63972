/** Runs snapshot-op-child.js in a separate node process with a state dir and failpoints. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** How the child ended: exit code, or the signal that killed it. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs one operation (create|revert|delete) in a child process. */
export function runChildOp(stateDir: string, failpoints: string, args: string[]): Promise<ChildResult> {
  const script = fileURLToPath(new URL('./snapshot-op-child.js', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, SNAPVIRT_CHILD_OP: '1', SNAPVIRT_STATE_DIR: stateDir, SNAPVIRT_FAILPOINTS: failpoints },
      stdio: ['ignore', 'ignore', 'pipe'],
      // Its own process group: a `crash` failpoint kills the child, and killGroupOf() then
      // takes down the qemu-img it left running, as a machine crash would.
      detached: true,
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('exit', () => killGroupOf(child.pid));
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** SIGKILLs whatever is left in the process group led by `pid` (nothing once the group is empty). */
export function killGroupOf(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is empty: nothing of the child is left.
  }
}
