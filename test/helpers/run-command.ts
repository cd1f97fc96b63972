/**
 * Runs a program (virsh, bin/snapvirt) in a small fixed environment and gives back its
 * stdout, stderr and exit status, for tests that compare two programs' outcomes.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** bin/snapvirt of this checkout. */
export const SNAPVIRT_BIN = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));

/** What one command line produced. */
export interface Outcome {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs `file args` with PATH, LANG=C, TZ=UTC, a HOME that does not exist, and `env`; `input` is its stdin. */
export function runCommand(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, input = ''): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', TZ: 'UTC', HOME: '/nonexistent', ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 });
    });
    child.stdin!.end(input);
  });
}

/** `virsh args`. */
export const virshCommand = (args: readonly string[]): Promise<Outcome> => runCommand('virsh', args);
/** `bin/snapvirt args` under this Node. */
export const snapvirtCommand = (args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> => runCommand(process.execPath, [SNAPVIRT_BIN, ...args], env);
