/**
 * When the integrity check of the state database may be skipped at open. SQLite's
 * quick_check reads every page: 4 ms for a small store, 22 ms at 10,000 snapshots, the
 * one cost of opening that grows with the store. After a clean close snapvirt records the
 * file's identity, size and times beside it (`snapvirt.db.checked`); when the next open
 * finds exactly those, and no WAL holding pages for the file, nothing has written to it
 * since it was last known whole, and the cheap header checks suffice.
 *
 * Any write through the file system changes the file's mtime and ctime, and the ctime
 * cannot be set back short of changing the clock, so damage done to the file (another
 * program, a truncation, a copy over it) is still found before SQLite opens it for
 * writing. Damage below the file system (bit rot) is not; SQLite reports such a page
 * when it reads it. The record is only a hint: when it is missing, stale or unreadable,
 * the full check runs.
 */
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { removeDeadWriterTemps } from './dead-writer-temps.js';

/** Where the record for the database at `dbPath` lives. */
export function checkedStampPath(dbPath: string): string {
  return `${dbPath}.checked`;
}

/** The file's identity, size and times, or undefined when it is missing or a WAL holds pages for it. */
function stampOf(dbPath: string): string | undefined {
  const st = statSync(dbPath, { bigint: true, throwIfNoEntry: false });
  if (!st) return undefined;
  const wal = statSync(`${dbPath}-wal`, { throwIfNoEntry: false });
  if (wal && wal.size > 0) return undefined;
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** True when the database is exactly as it was when snapvirt last closed it cleanly. */
export function isUnchangedSinceClose(dbPath: string): boolean {
  const now = stampOf(dbPath);
  if (now === undefined) return false;
  try {
    return readFileSync(checkedStampPath(dbPath), 'utf8') === now;
  } catch {
    return false;
  }
}

/**
 * Removes the temporary files of recordCleanClose that a killed process left between
 * writing and renaming (`<stamp>.<pid>.tmp` of a pid that no longer runs), so crashes do
 * not gather litter in the state directory. A live process's file is its own and stays.
 */
export function removeStaleStampTemps(dbPath: string): void {
  const stamp = basename(checkedStampPath(dbPath));
  removeDeadWriterTemps(dirname(dbPath), (base) => base === stamp);
}

/** Records the database as just closed cleanly (after the last connection, so no WAL is left). */
export function recordCleanClose(dbPath: string): void {
  const now = stampOf(dbPath);
  if (now === undefined) return;
  const file = checkedStampPath(dbPath);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, now, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // A hint only (a full disk, a read-only directory): the next open checks in full.
    try {
      unlinkSync(tmp);
    } catch {
      // Never written.
    }
  }
}
