/** Temporary directories for tests: mode 0700, removed (even if made immutable) by the returned cleanup. */
import { mkdtemp, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = promisify(execFile);

/** A temporary directory and its cleanup function. */
export interface TempDir {
  path: string;
  cleanup(): Promise<void>;
}

/** Creates a fresh temp dir under the OS temp dir (mkdtemp gives mode 0700). */
export async function makeTempDir(prefix = 'snapvirt-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    async cleanup() {
      // A failed test may leave immutable dirs or mounts inside; undo them before rm.
      await run('chattr', ['-R', '-i', path]).catch(() => undefined);
      await unmountAllUnder(path);
      await rm(path, { recursive: true, force: true });
    },
  };
}

/** Unmounts every mount point below `root`, deepest first, so rm cannot walk into a mount. */
export async function unmountAllUnder(root: string): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const mounts = (await readFile('/proc/self/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m): m is string => !!m && (m === root || m.startsWith(root + '/')))
    .map((m) => m.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
}
