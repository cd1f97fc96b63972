/**
 * Opening the state store: the state directory (0700), the database file (0600, created
 * with its schema in place by temp file + rename so a crash never leaves an empty
 * database behind), the pragmas, the schema migrations, and clear errors for a damaged
 * file or a read-only directory.
 */
import { chmodSync, closeSync, existsSync, linkSync, mkdirSync, openSync, statSync, unlinkSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { isVirError } from '../api/errors.js';
import { fsyncDir, fsyncFile } from '../txn/fsync.js';
import { isUnchangedSinceClose } from './db-check-stamp.js';
import { diagnoseDatabaseFile } from './db-file-check.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { removeImportedStateFiles } from './state-file-import.js';
import { toVirError } from './sqlite-errors.js';
import { Store, storeError } from './store.js';

/** The database file's name inside the state directory. */
export const DB_FILE_NAME = 'snapvirt.db';

/** Options for openStore. */
export interface OpenStoreOptions {
  /** How long a writer waits for another process's write transaction (ms). Default 10000. */
  busyTimeoutMs?: number;
}

function errnoMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err) {
    const code = String((err as { code: unknown }).code);
    const text: Record<string, string> = {
      EACCES: 'Permission denied', EPERM: 'Operation not permitted', EROFS: 'Read-only file system',
      ENOSPC: 'No space left on device', ENOTDIR: 'Not a directory', ENOENT: 'No such file or directory',
    };
    return text[code] ?? code;
  }
  return err instanceof Error ? err.message : String(err);
}

function ensureStateDir(stateDir: string): void {
  if (!existsSync(stateDir)) {
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      chmodSync(stateDir, 0o700); // the umask may have narrowed mkdir's mode, never widened it; be exact
    } catch (err) {
      throw storeError(`cannot create state directory '${stateDir}': ${errnoMessage(err)}`);
    }
  } else if (!statSync(stateDir).isDirectory()) {
    throw storeError(`state directory '${stateDir}' is not a directory`);
  }
  // Probe with a real file creation: access(W_OK) says yes to root on a read-only mount.
  const probe = join(stateDir, `.write-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
    unlinkSync(probe);
  } catch (err) {
    throw storeError(`state directory '${stateDir}' is not writable: ${errnoMessage(err)}`);
  }
}

function applyPragmas(db: Database.Database, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw storeError(`cannot switch the state database to WAL mode (got '${String(mode)}')`);
  // FULL: the WAL is fsynced at every commit, so a commit that returned survives power loss.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
}

function migrate(db: Database.Database, path: string, stateDir: string): void {
  for (;;) {
    // Version read and migration in one write transaction: two processes opening an old
    // database at once must not both apply the same migration.
    const done = db.transaction((): boolean => {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw storeError(`state database '${path}' has schema version ${version}, newer than this snapvirt understands (${SCHEMA_VERSION})`);
      }
      if (version === SCHEMA_VERSION) return true;
      const migration = MIGRATIONS[version]!;
      db.exec(migration.sql);
      migration.importData?.(db, stateDir);
      db.pragma(`user_version = ${version + 1}`);
      return false;
    }).immediate();
    if (done) return;
  }
}

/** Builds a fresh database at a temporary name and links it into place, durably. */
function createDatabase(stateDir: string, path: string, busyTimeoutMs: number): void {
  const tmp = join(stateDir, `.${DB_FILE_NAME}.init-${process.pid}`);
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    if (existsSync(tmp + suffix)) unlinkSync(tmp + suffix); // leftovers of a crashed init by a recycled pid
  }
  // Create it ourselves with 0600: SQLite gives its -wal and -shm files the database's mode.
  closeSync(openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
  chmodSync(tmp, 0o600);
  const db = new Database(tmp, { fileMustExist: true });
  try {
    applyPragmas(db, busyTimeoutMs);
    migrate(db, path, stateDir);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close(); // the last close checkpoints and removes the -wal and -shm files
  }
  fsyncFile(tmp);
  try {
    // Not rename: if another process created the database meanwhile, keep theirs.
    linkIfAbsent(tmp, path);
  } finally {
    if (existsSync(tmp)) unlinkSync(tmp);
  }
  fsyncDir(stateDir);
}

/** Hard-links `from` to `to` unless `to` exists: atomic and exclusive, unlike rename(). */
function linkIfAbsent(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * Opens (creating if needed) the state store in `stateDir`. Throws a VirError when the
 * directory cannot be created or written, or when an existing database file is damaged;
 * a damaged file is left exactly as it was.
 */
export function openStore(stateDir: string, options: OpenStoreOptions = {}): Store {
  const dir = resolve(stateDir);
  const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
  ensureStateDir(dir);
  const path = join(dir, DB_FILE_NAME);
  try {
    if (!existsSync(path)) createDatabase(dir, path, busyTimeoutMs);
    const problem = diagnoseDatabaseFile(path, { integrity: !isUnchangedSinceClose(path) });
    if (problem !== undefined) {
      throw storeError(`state database '${path}' is damaged: ${problem}. It was left untouched; move it aside to start afresh, or restore it from a backup`);
    }
    const db = new Database(path, { fileMustExist: true });
    try {
      applyPragmas(db, busyTimeoutMs);
      migrate(db, path, dir);
      // Only now that the import committed (at this open or an earlier one) may the old files go.
      removeImportedStateFiles(dir);
    } catch (err) {
      db.close();
      throw err;
    }
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
    }
    return new Store(db, dir, path);
  } catch (err) {
    if (isVirError(err)) throw err;
    const converted = toVirError(`opening '${path}'`, err);
    if (isVirError(converted)) throw converted;
    throw storeError(`cannot open state database '${path}': ${errnoMessage(err)}`);
  }
}
