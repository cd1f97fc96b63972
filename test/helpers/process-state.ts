/** Waiting for a child process to reach a kernel state (Linux /proc). */
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** The one-letter state of `pid` from /proc/PID/stat (R, S, T, Z, …), or null once it is gone. */
export async function processState(pid: number): Promise<string | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return null;
  // The command name in parentheses may hold spaces: the state follows its last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
}

/** Resolves once `pid` is stopped (SIGSTOP: state T); fails after `timeoutMs` or if it ends. */
export async function waitUntilStopped(pid: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await processState(pid);
    if (state === 'T') return;
    if (state === null || state === 'Z') throw new Error(`process ${pid} ended before it stopped`);
    if (Date.now() > deadline) throw new Error(`process ${pid} did not stop within ${timeoutMs} ms (state ${state})`);
    await sleep(20);
  }
}

/**
 * Resolves once every thread of `pid` has exited (a zombie leader alone, or nothing):
 * a killed process's leader turns zombie first, and its files (QEMU's image locks) close
 * only when the last thread is gone.
 */
export async function waitUntilAllThreadsExited(pid: number): Promise<void> {
  for (;;) {
    const state = await processState(pid);
    const others = (await readdir(`/proc/${pid}/task`).catch(() => [])).filter((tid) => tid !== String(pid));
    if ((state === null || state === 'Z') && others.length === 0) return;
    await sleep(10);
  }
}
