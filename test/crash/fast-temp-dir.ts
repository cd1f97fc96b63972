/**
 * Temp dirs for crash worlds, on tmpfs (/dev/shm) when there is one. A SIGKILL loses no
 * page cache on any file system (power loss is out of scope, see docs/RELIABILITY.md),
 * so tmpfs tests the same thing, and the fsync-heavy SQLite and qemu-img runs of
 * hundreds of cases are several times faster there.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, unmountAllUnder, type TempDir } from '../helpers/temp-dir.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { rm } from 'node:fs/promises';

const run = promisify(execFile);

/** A fresh 0700 temp dir on tmpfs if available, else under the OS temp dir. */
export async function fastTempDir(prefix: string): Promise<TempDir> {
  if (!existsSync('/dev/shm')) return makeTempDir(prefix);
  const path = await mkdtemp(join('/dev/shm', prefix));
  return {
    path,
    async cleanup() {
      await run('chattr', ['-R', '-i', path]).catch(() => undefined);
      await unmountAllUnder(path);
      await rm(path, { recursive: true, force: true });
    },
  };
}
