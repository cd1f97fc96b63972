/**
 * Temporary files of a write-then-rename (`<base>.<pid>.tmp`) that a killed writer left
 * between its write and its rename. They hold nothing anyone reads, so the next open
 * removes them and crashes do not gather litter in the state directory; a live writer's
 * file is its own and stays.
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Whether process `pid` still exists (EPERM: it exists, owned by someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `<base>.<pid>.tmp` in `dir`, for every base `isBase` accepts, whose writer no longer runs. */
export function removeDeadWriterTemps(dir: string, isBase: (base: string) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no such directory yet: nothing was ever written there
  }
  for (const name of names) {
    const m = /^(.+)\.(\d+)\.tmp$/.exec(name);
    if (!m || !isBase(m[1])) continue;
    const pid = Number(m[2]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // Gone already (another process's open cleared it too).
    }
  }
}
