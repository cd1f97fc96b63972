/**
 * Runs an external program and measures its wall time from spawn to exit, the way a
 * user's shell would see it (started from bench/spawner.ts, see there why). Argument arrays only; a non-zero exit is an error (with the
 * program's stderr) because a failing command timed as "fast" would be a lie.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

/** One program to start, as bench/spawner.ts receives it. */
export interface SpawnRequest {
  id: number;
  cmd: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  discardStdout?: boolean;
  timeoutMs?: number;
}

/** How it ended, as bench/spawner.ts answers. */
export interface SpawnResult {
  id: number;
  ms: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all. */
  spawnError?: string;
}

let spawner: ChildProcess | undefined;
let nextId = 1;
const pending = new Map<number, (result: SpawnResult) => void>();

/** The spawner process (started on first use; it only keeps the bench alive while a program runs). */
function spawnerProcess(): ChildProcess {
  if (spawner) return spawner;
  const child = fork(fileURLToPath(new URL('./spawner.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (result: SpawnResult) => {
    pending.get(result.id)?.(result);
    pending.delete(result.id);
    if (pending.size === 0) {
      child.unref();
      child.channel?.unref();
    }
  });
  child.on('exit', (code) => {
    spawner = undefined;
    for (const [id, done] of pending) {
      done({ id, ms: 0, code: null, signal: null, timedOut: false, stdout: '', stderr: '', spawnError: `the bench's spawner process exited (${code})` });
    }
    pending.clear();
  });
  spawner = child;
  return child;
}

/**
 * Starts `cmd args` (from bench/spawner.ts, a small process, as a shell would start it),
 * waits for it, and returns its wall time from spawn to exit and its output.
 */
export function runTimed(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const child = spawnerProcess();
    const id = nextId++;
    pending.set(id, (r) => {
      if (r.spawnError !== undefined) {
        reject(new Error(`${cmd}: ${r.spawnError}`));
        return;
      }
      if (r.timedOut) {
        reject(new CommandTimeoutError(`${cmd} ${args.join(' ')}`, opts.timeoutMs ?? 0));
        return;
      }
      if (r.code === null || !(opts.okCodes ?? [0]).includes(r.code)) {
        // Its `error:` lines, else the last lines: log lines (libvirt-style warnings) can come in any order around the error.
        const lines = r.stderr.trim().split('\n');
        const errors = lines.filter((l) => l.startsWith('error:'));
        const tail = (errors.length > 0 ? errors : lines.slice(-3)).join('\n').slice(-1000);
        reject(new Error(`${cmd} ${args.join(' ')} failed (${r.signal ?? `exit ${r.code}`}): ${tail}`));
        return;
      }
      resolve({ ms: r.ms, stdout: r.stdout, stderr: r.stderr });
    });
    child.ref();
    child.channel?.ref();
    const request: SpawnRequest = {
      id, cmd, args, env: opts.env ?? process.env, cwd: opts.cwd, discardStdout: opts.discardStdout, timeoutMs: opts.timeoutMs,
    };
    child.send(request);
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
