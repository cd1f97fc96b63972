/** Runs snapshot-op-child.js in a separate node process with a state dir and failpoints. */
import { execFile } from 'node:child_process';
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
    const child = execFile(process.execPath, [script, ...args], {
      env: { ...process.env, SNAPVIRT_CHILD_OP: '1', SNAPVIRT_STATE_DIR: stateDir, SNAPVIRT_FAILPOINTS: failpoints },
    }, (err, _stdout, stderr) => {
      resolve({ code: child.exitCode, signal: child.signalCode, stderr: String(stderr) });
      void err;
    });
  });
}
