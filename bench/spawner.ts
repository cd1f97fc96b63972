/**
 * The process every timed program of the bench is started from (bench/run-timed.ts sends
 * it one request per program over IPC). fork() copies the parent's page tables: from a
 * Node process holding 1.5 GB a spawn took 70–80 ms instead of 5 (measured here), and
 * the bench process grows while it builds the metadata scenario's stores. Such a cost
 * would weigh on the baselines made of many processes (the qemu-img floor starts one per
 * disk) far more than on snapvirt's one process. This process stays small.
 */
import { spawn } from 'node:child_process';
import type { SpawnRequest, SpawnResult } from './run-timed.js';

function runOne(req: SpawnRequest): void {
  const t0 = performance.now();
  const child = spawn(req.cmd, req.args, {
    env: req.env, cwd: req.cwd, stdio: ['ignore', req.discardStdout ? 'ignore' : 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  let timedOut = false;
  const timer = req.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, req.timeoutMs);
  const reply = (result: Omit<SpawnResult, 'id'>): void => {
    if (timer) clearTimeout(timer);
    process.send?.({ id: req.id, ...result } satisfies SpawnResult);
  };
  child.on('error', (e) => reply({ ms: 0, code: null, signal: null, timedOut: false, stdout: '', stderr: '', spawnError: e.message }));
  child.on('close', (code, signal) => {
    const ms = performance.now() - t0;
    reply({ ms, code, signal, timedOut, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
  });
}

process.on('message', (req: SpawnRequest) => runOne(req));
