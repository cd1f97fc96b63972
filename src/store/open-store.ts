/**
 * Opening the state store: the state directory (0700), the database file (0600, created
 * with its schema in place by temp file + rename so a crash never leaves an empty
 * database behind), the pragmas, the schema migrations, and clear errors for a damaged
 * file or a read-only directory.
 */
import { chmodSync, closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { errnoText } from '../api/errno-text.js';
import { isVirError } from '../api/errors.js';
import { fsyncDir, fsyncFile } from '../txn/fsync.js';
import { isUnchangedSinceClose, removeStaleStampTemps } from './db-check-stamp.js';
import { diagnoseDatabaseFile } from './db-file-check.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { removeImportedStateFiles } from './state-file-import.js';
import { toVirError } from './sqlite-errors.js';
import { Store, storeError, storeSystemError } from './store.js';

/** The database file's name inside the state directory. */
export const DB_FILE_NAME = 'snapvirt.db';

/** Options for openStore. */
export interface OpenStoreOptions {
  /** How long a writer waits for another process's write transaction (ms). Default 10000. */
  busyTimeoutMs?: number;
}

/** Why anyone but its owner could plant records there: said in every refusal. */
const TRUST_RISK = 'anyone who can write there can plant records that decide which files snapvirt deletes';

/**
 * Refuses a state directory snapvirt cannot trust: not owned by the user running it, or
 * writable by group or others (as libvirt keeps its own directories). `given` is the
 * path as configured, `real` the directory it resolves to (symlinks followed), which is
 * what is checked and named in the fix.
 */
function checkTrusted(given: string, real: string): void {
  const st = statSync(real);
  if (!st.isDirectory()) throw storeError(`state directory '${given}' is not a directory`);
  const shown = given === real ? `'${given}'` : `'${given}' (resolved to '${real}')`;
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw storeError(`state directory ${shown} is owned by uid ${st.uid}, not by uid ${uid} running snapvirt: ` +
      `${TRUST_RISK}; run 'chown ${uid} ${real}' or use another state directory`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw storeError(`state directory ${shown} is writable by group or others (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): ` +
      `${TRUST_RISK}; run 'chmod go-w ${real}' (snapvirt creates it 0700)`);
  }
}

/** A damaged database file, reported and never touched. */
function damagedError(path: string, problem: string): Error {
  return storeError(`state database '${path}' is damaged: ${problem}. It was left untouched; move it aside to start afresh, or restore it from a backup`);
}

/** The state directory as opened: its resolved path, and why it cannot be written (if so). */
interface StateDir {
  dir: string;
  notWritable: string | undefined;
}

/** Creates the state directory (0700) if missing, checks it is trusted, and probes whether it can be written. */
function ensureStateDir(stateDir: string): StateDir {
  if (!existsSync(stateDir)) {
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      chmodSync(stateDir, 0o700); // the umask may have narrowed mkdir's mode, never widened it; be exact
    } catch (err) {
      throw storeSystemError(`cannot create state directory '${stateDir}'`, err);
    }
  }
  let dir: string;
  try {
    dir = realpathSync(stateDir);
  } catch (err) {
    throw storeSystemError(`cannot resolve state directory '${stateDir}'`, err);
  }
  checkTrusted(stateDir, dir);
  // Probe with a real file creation: access(W_OK) says yes to root on a read-only mount.
  const probe = join(dir, `.write-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
    unlinkSync(probe);
    return { dir, notWritable: undefined };
  } catch (err) {
    return { dir, notWritable: `state directory '${stateDir}' is not writable: ${errnoText(err)}` };
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
  const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
  const { dir, notWritable } = ensureStateDir(resolve(stateDir));
  const path = join(dir, DB_FILE_NAME);
  if (notWritable !== undefined) {
    if (!existsSync(path)) throw storeError(notWritable);
    return openReadOnlyCopy(dir, path, notWritable);
  }
  try {
    removeStaleStampTemps(path);
    if (!existsSync(path)) createDatabase(dir, path, busyTimeoutMs);
    const problem = diagnoseDatabaseFile(path, { integrity: !isUnchangedSinceClose(path) });
    if (problem !== undefined) {
      throw damagedError(path, problem);
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
    throw storeSystemError(`cannot open state database '${path}'`, err);
  }
}

/**
 * The store of a directory that cannot be written (a read-only mount, an immutable
 * directory), for commands that only read. SQLite cannot open a WAL database read-only
 * without creating its -shm file, so the file is read into memory (marked as a rollback
 * journal database, query_only): nothing is written, recovery is skipped, and every
 * write is refused with `notWritable`. A non-empty -wal holds commits the file lacks;
 * reading without them would show an older state, so that is refused too.
 */
function openReadOnlyCopy(dir: string, path: string, notWritable: string): Store {
  const walSize = existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0;
  if (walSize > 0) {
    throw storeError(`${notWritable}, and its database has changes not yet merged from '${path}-wal': make it writable once so they can be`);
  }
  let db: Database.Database;
  try {
    // The header checks read the file; SQLite's own check runs on the copy (it could not open the file).
    const problem = diagnoseDatabaseFile(path, { integrity: false });
    if (problem !== undefined) throw damagedError(path, problem);
    const bytes = readFileSync(path);
    // Bytes 18 and 19 of the header say WAL (2); an in-memory copy reads as rollback (1).
    bytes[18] = bytes[19] = 1;
    db = new Database(bytes);
    if (!isUnchangedSinceClose(path)) {
      const rows = db.pragma('quick_check') as { quick_check: string }[];
      const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
      if (problems.length > 0) {
        db.close();
        throw damagedError(path, `integrity check failed: ${problems.slice(0, 3).join('; ')}`);
      }
    }
    db.pragma('query_only = ON');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== SCHEMA_VERSION) {
      db.close();
      throw storeError(version > SCHEMA_VERSION
        ? `state database '${path}' has schema version ${version}, newer than this snapvirt understands (${SCHEMA_VERSION})`
        : `${notWritable}, and its database (schema version ${version}) needs an upgrade to ${SCHEMA_VERSION}: make it writable once`);
    }
  } catch (err) {
    if (isVirError(err)) throw err;
    throw storeSystemError(`cannot open state database '${path}'`, err);
  }
  return new Store(db, dir, path, storeError(notWritable));
}
