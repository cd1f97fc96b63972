/**
 * Filesystem fault fixtures (root only): small tmpfs mounts that run out of space, read-only
 * tmpfs and bind mounts, and chattr +i directories that even root cannot create files in.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Mounts a tmpfs of `sizeBytes` on `dir` (created if missing), read-only when asked. */
export async function mountTmpfs(dir: string, sizeBytes: number, opts: { readOnly?: boolean } = {}): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const options = [`size=${sizeBytes}`, 'mode=0700'];
  if (opts.readOnly) options.push('ro');
  await run('mount', ['-t', 'tmpfs', '-o', options.join(','), 'tmpfs', dir]);
}

/** Bind-mounts `source` on `target` read-only (a bind mount must be remounted to become ro). */
export async function mountReadOnlyBind(source: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true, mode: 0o700 });
  await run('mount', ['--bind', source, target]);
  await run('mount', ['-o', 'remount,bind,ro', target]);
}

/** Unmounts `dir`. */
export async function unmount(dir: string): Promise<void> {
  await run('umount', [dir]);
}

/** Sets or clears the immutable attribute on `path` (chattr +i / -i). */
export async function setImmutable(path: string, on: boolean): Promise<void> {
  await run('chattr', [on ? '+i' : '-i', path]);
}
