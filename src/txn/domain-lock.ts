/**
 * One writer per domain, across processes.
 *
 * The lock itself is an fcntl() byte-range lock, taken by SQLite on `locks/<uuid>.lock`
 * (an empty database used only for its locking: `BEGIN EXCLUSIVE` held for the whole
 * operation). Node has no flock(); SQLite's unix VFS is the portable, maintained way to
 * get a kernel lock from it. The kernel drops the lock when the holder dies (SIGKILL,
 * OOM, crash), so a dead holder's lock is free the instant it dies: no stale-lock
 * heuristics, no time-based stealing, and no race between two processes taking over,
 * because the takeover *is* the kernel granting the lock to exactly one of them.
 * SQLite also tracks locks per inode inside one process, so two acquisitions in the same
 * process exclude each other too (POSIX fcntl alone would not).
 *
 * Beside it, `locks/<uuid>.holder` records who holds it (pid, boot id, operation), only
 * to name the holder in the timeout error. It is advisory: a holder entry whose pid is
 * gone or whose boot id differs is reported as stale, never trusted as the lock.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, chmodSync, constants } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import { failpoint } from './failpoints.js';

/** Who holds (or last held) a domain's lock, as written in its holder file. */
export interface LockHolder {
  pid: number;
  bootId: string;
  operation: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** A held domain lock. release() is idempotent. */
export interface DomainLock {
  readonly uuid: string;
  readonly operation: string;
  readonly held: boolean;
  release(): void;
}

/** Options for acquireDomainLock. */
export interface AcquireOptions {
  /** Bounded wait before failing (ms). Default: SNAPVIRT_LOCK_TIMEOUT_MS, else 30000. */
  timeoutMs?: number;
  /** Poll interval while waiting (ms). Default 50. */
  pollMs?: number;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The default bounded wait: SNAPVIRT_LOCK_TIMEOUT_MS when set to a number, else 30 s. */
export function defaultLockTimeoutMs(): number {
  const env = process.env['SNAPVIRT_LOCK_TIMEOUT_MS'];
  const n = env === undefined ? NaN : Number(env);
  return Number.isFinite(n) && n >= 0 ? n : 30_000;
}

/** This boot's id (/proc/sys/kernel/random/boot_id), or '' where there is none. */
export function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** True when `holder` cannot still be running: another boot, or no such pid. */
export function isHolderDead(holder: LockHolder): boolean {
  if (holder.bootId !== '' && currentBootId() !== '' && holder.bootId !== currentBootId()) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function lockPaths(lockDir: string, uuid: string): { lock: string; holder: string } {
  // The uuid becomes a file name: only a well-formed uuid may, so nothing escapes lockDir.
  if (!UUID_RE.test(uuid)) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `invalid domain uuid '${uuid}' for a lock`);
  }
  return { lock: join(lockDir, `${uuid.toLowerCase()}.lock`), holder: join(lockDir, `${uuid.toLowerCase()}.holder`) };
}

/** Reads a domain lock's holder file; undefined when absent or unreadable. */
export function readLockHolder(lockDir: string, uuid: string): LockHolder | undefined {
  try {
    const data = JSON.parse(readFileSync(lockPaths(lockDir, uuid).holder, 'utf8')) as Partial<LockHolder>;
    if (typeof data.pid !== 'number' || typeof data.operation !== 'string') return undefined;
    return { pid: data.pid, bootId: String(data.bootId ?? ''), operation: data.operation, since: String(data.since ?? '') };
  } catch {
    return undefined;
  }
}

function ensureLockDir(lockDir: string): void {
  if (!existsSync(lockDir)) {
    mkdirSync(lockDir, { recursive: true, mode: 0o700 });
    chmodSync(lockDir, 0o700);
  }
}

function openLockDb(path: string): Database.Database {
  if (!existsSync(path)) {
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const db = new Database(path, { fileMustExist: true });
  db.pragma('busy_timeout = 0'); // we poll asynchronously; a sync wait would block the event loop
  return db;
}

function tryLock(db: Database.Database): boolean {
  try {
    // Inside the try: while another process holds the lock even this pragma is SQLITE_BUSY.
    db.pragma('journal_mode = MEMORY'); // no -journal file beside the lock
    db.exec('BEGIN EXCLUSIVE');
    return true;
  } catch (err) {
    if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY')) return false;
    throw err;
  }
}

class HeldDomainLock implements DomainLock {
  #db: Database.Database | undefined;
  readonly uuid: string;
  readonly operation: string;
  readonly #holderPath: string;

  constructor(db: Database.Database, uuid: string, operation: string, holderPath: string) {
    this.#db = db;
    this.uuid = uuid;
    this.operation = operation;
    this.#holderPath = holderPath;
  }

  get held(): boolean {
    return this.#db !== undefined;
  }

  release(): void {
    const db = this.#db;
    if (!db) return;
    this.#db = undefined;
    // Remove our holder file while still holding the lock, so we never remove the next holder's.
    try {
      unlinkSync(this.#holderPath);
    } catch {
      // absent already: nothing to clean
    }
    try {
      if (db.inTransaction) db.exec('ROLLBACK');
    } finally {
      db.close();
    }
  }
}

function writeHolder(path: string, operation: string): void {
  const holder: LockHolder = { pid: process.pid, bootId: currentBootId(), operation, since: new Date().toISOString() };
  const tmp = `${path}.tmp-${process.pid}`;
  // Advisory data: atomic (rename) but not fsynced, since after a crash it is stale anyway.
  writeFileSync(tmp, JSON.stringify(holder) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

/** Tries once to take the lock; undefined when another holder has it. */
export function tryAcquireDomainLock(lockDir: string, uuid: string, operation: string): DomainLock | undefined {
  ensureLockDir(lockDir);
  const paths = lockPaths(lockDir, uuid);
  const db = openLockDb(paths.lock);
  if (!tryLock(db)) {
    db.close();
    return undefined;
  }
  try {
    writeHolder(paths.holder, operation);
  } catch (err) {
    db.exec('ROLLBACK');
    db.close();
    throw err;
  }
  return new HeldDomainLock(db, uuid, operation, paths.holder);
}

/** libvirt's wording for a lock wait that timed out, naming the holder when known. */
function lockTimeoutError(lockDir: string, uuid: string): Error {
  const holder = readLockHolder(lockDir, uuid);
  let who: string;
  if (!holder) who = 'held by another process';
  else if (isHolderDead(holder)) who = `held by another process; last recorded holder ${holder.operation}, pid ${holder.pid}, is gone`;
  else who = `held by ${holder.operation}, pid ${holder.pid}`;
  return virError(VirErrorCode.OPERATION_TIMEOUT, VirErrorDomain.NONE, `cannot acquire state change lock (${who})`);
}

/**
 * Takes the domain's lock for `operation`, waiting at most the timeout, then throwing
 * VIR_ERR_OPERATION_TIMEOUT: "Timed out during operation: cannot acquire state change
 * lock (held by snapshot-create, pid 1234)".
 */
export async function acquireDomainLock(
  lockDir: string, uuid: string, operation: string, options: AcquireOptions = {},
): Promise<DomainLock> {
  const timeoutMs = options.timeoutMs ?? defaultLockTimeoutMs();
  const pollMs = Math.max(1, options.pollMs ?? 50);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lock = tryAcquireDomainLock(lockDir, uuid, operation);
    if (lock) {
      try {
        failpoint('lock.acquire.after');
      } catch (err) {
        lock.release();
        throw err;
      }
      return lock;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw lockTimeoutError(lockDir, uuid);
    await sleep(Math.min(left, pollMs));
  }
}

/** Runs `fn` holding the domain's lock, releasing it however `fn` ends. */
export async function withDomainLock<T>(
  lockDir: string, uuid: string, operation: string, fn: (lock: DomainLock) => Promise<T>, options: AcquireOptions = {},
): Promise<T> {
  const lock = await acquireDomainLock(lockDir, uuid, operation, options);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}
