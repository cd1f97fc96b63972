/** Helpers to run the test fixtures as real child processes (no mocks: they really get SIGKILLed). */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Absolute path of a compiled fixture script (dist/test/txn/fixtures/NAME.js). */
export function fixture(name: string): string {
  return join(here, 'fixtures', `${name}.js`);
}

/** How a child ended and what it printed. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for a child: ours minus any failpoints, plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['SNAPVIRT_FAILPOINTS'];
  delete env['NODE_TEST_CONTEXT']; // the child is a plain script, not a test-runner child
  return { ...env, ...extra };
}

/** Runs a fixture to completion. */
export function runChild(name: string, args: string[], env: Record<string, string> = {}, uid?: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture(name), ...args], {
      env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Starts a fixture and resolves once it printed `line` (rejects if it exits first). */
export function startChildUntil(name: string, args: string[], line: string, env: Record<string, string> = {}):
Promise<{ child: ChildProcess; exited: Promise<ChildResult> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture(name), ...args], { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let seen = false;
    const exited = new Promise<ChildResult>((res) => {
      child.on('close', (code, signal) => {
        res({ code, signal, stdout, stderr });
        if (!seen) reject(new Error(`child exited (${code ?? signal}) before printing '${line}': ${stderr}`));
      });
    });
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!seen && stdout.split('\n').includes(line)) {
        seen = true;
        resolve({ child, exited });
      }
    });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
  });
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'snapvirt-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
