/**
 * Runs an external program and measures its wall time from spawn to exit, the way a
 * user's shell would see it. Argument arrays only; a non-zero exit is an error (with the
 * program's stderr) because a failing command timed as "fast" would be a lie.
 */
import { spawn } from 'node:child_process';

/** Options for {@link runTimed}. */
export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Exit codes that count as success; default [0]. */
  okCodes?: readonly number[];
  /** Kill the program (SIGKILL) after this many milliseconds and fail with a TimeoutError. */
  timeoutMs?: number;
  /** Send stdout to /dev/null (output of hundreds of MB, as a 10,000-deep --tree draws); stdout is then ''. */
  discardStdout?: boolean;
}

/** A program that was killed because it ran past its time limit. */
export class CommandTimeoutError extends Error {
  override readonly name = 'CommandTimeoutError';
  constructor(readonly command: string, readonly timeoutMs: number) {
    super(`${command} did not finish within ${(timeoutMs / 1000).toFixed(0)} s`);
  }
}

/** What a timed run produced. */
export interface TimedRun {
  ms: number;
  stdout: string;
  stderr: string;
}

/** Spawns `cmd args`, waits for it, and returns its wall time and output. */
export function runTimed(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', opts.discardStdout ? 'ignore' : 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const ms = performance.now() - t0;
      if (timedOut) {
        reject(new CommandTimeoutError(`${cmd} ${args.join(' ')}`, opts.timeoutMs ?? 0));
        return;
      }
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === null || !(opts.okCodes ?? [0]).includes(code)) {
        // Its `error:` lines, else the last lines: log lines (libvirt-style warnings) can come in any order around the error.
        const lines = stderr.trim().split('\n');
        const errors = lines.filter((l) => l.startsWith('error:'));
        const tail = (errors.length > 0 ? errors : lines.slice(-3)).join('\n').slice(-1000);
        reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${tail}`));
        return;
      }
      resolve({ ms, stdout, stderr });
    });
  });
}

/** Runs a program and returns only its wall time in milliseconds. */
export async function timeCommand(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<number> {
  return (await runTimed(cmd, args, opts)).ms;
}

/** Runs a program for its side effect (setup and cleanup), failing on a non-zero exit. */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await runTimed(cmd, args, opts)).stdout;
}
