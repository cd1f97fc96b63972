/**
 * The state store: one SQLite database (better-sqlite3, synchronous) per state directory,
 * holding domain definitions, snapshot metadata, the image files snapvirt created, and the
 * intent journal. WAL with synchronous=FULL, so a committed transaction survives a crash or power cut; one
 * `transaction()` is the commit point of every mutating operation.
 */
import Database from 'better-sqlite3';
import { errnoCode, errnoText } from '../api/errno-text.js';
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import { recordCleanClose } from './db-check-stamp.js';
import { DomainTable } from './domain-table.js';
import { GroupSnapshotTable } from './group-table.js';
import { JournalTable } from './journal-table.js';
import { OwnershipTable } from './ownership-table.js';
import { SnapshotTable } from './snapshot-table.js';
import { toVirError } from './sqlite-errors.js';

/** An open state store. Not safe to share across worker threads; safe across processes. */
export class Store {
  /** The raw connection, for queries the typed tables do not offer. */
  readonly db: Database.Database;
  /** The state directory this store lives in. */
  readonly stateDir: string;
  /** The database file's path. */
  readonly path: string;
  readonly domains: DomainTable;
  readonly snapshots: SnapshotTable;
  readonly journal: JournalTable;
  /** Which image files snapvirt created per domain, and the shut-off reasons it reports. */
  readonly ownership: OwnershipTable;
  /** Group snapshots (snapvirt's own): each group and its members' snapshots. */
  readonly groups: GroupSnapshotTable;

  /**
   * Set when the state directory cannot be written: the store was opened read-only (a
   * copy in memory), and this is the error every write, and every mutating call, gets.
   */
  readonly writeRefusal: Error | undefined;

  /** Use openStore(); this only wires the tables to an already opened, migrated database. */
  constructor(db: Database.Database, stateDir: string, path: string, writeRefusal?: Error) {
    this.db = db;
    this.stateDir = stateDir;
    this.path = path;
    this.writeRefusal = writeRefusal;
    this.domains = new DomainTable(db);
    this.snapshots = new SnapshotTable(db);
    this.journal = new JournalTable(db);
    this.ownership = new OwnershipTable(db);
    this.groups = new GroupSnapshotTable(db);
  }

  /**
   * Runs `fn` in one write transaction (BEGIN IMMEDIATE, so the write lock is taken up
   * front and a concurrent writer waits on busy_timeout instead of failing at COMMIT).
   * All of it commits or none of it does. Nested calls become savepoints. `fn` must be
   * synchronous: nothing may interleave with the commit point.
   */
  transaction<T>(fn: () => T): T {
    if (this.writeRefusal) throw this.writeRefusal;
    const wrapped = this.db.transaction(fn);
    const outermost = !this.db.inTransaction;
    try {
      return outermost ? wrapped.immediate() : wrapped();
    } catch (err) {
      // A deferred constraint fails at COMMIT itself, which leaves the transaction open.
      if (outermost && this.db.inTransaction) this.db.exec('ROLLBACK');
      throw toVirError('committing a transaction', err);
    }
  }

  /**
   * A value that changes whenever the database changes: by this connection (SQLite's
   * total_changes(), read every time: it needs no read transaction and costs 0.1 µs), or
   * by another process (PRAGMA data_version, about 2.5 µs, since it opens a read
   * transaction), seen from the next turn of the event loop on: the key for caches of what
   * was read from it. A listing of 10,000 snapshots asks for the stamp once per snapshot,
   * all in one turn. Within a turn this process takes in nothing from outside, so calls
   * that see the state from its start are as if made at its start.
   */
  changeStamp(): string {
    const own = (this.#ownChanges ??= this.db.prepare('SELECT total_changes()').pluck()).get() as number;
    if (this.#otherVersion === undefined) {
      this.#otherVersion = (this.#dataVersion ??= this.db.prepare('PRAGMA data_version').pluck()).get() as number;
      setImmediate(() => { this.#otherVersion = undefined; }).unref();
    }
    return `${this.#otherVersion}:${own}`;
  }
  #ownChanges: Database.Statement | undefined;
  #dataVersion: Database.Statement | undefined;
  /** PRAGMA data_version as read in this turn of the event loop. */
  #otherVersion: number | undefined;

  /** The schema version recorded in the file. */
  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Closes the connection (checkpointing the WAL), and records the clean close for the next open. */
  close(): void {
    if (!this.db.open) return;
    this.db.close();
    if (!this.writeRefusal) recordCleanClose(this.path);
  }
}

/** Raised when the database cannot be used; a VirError with libvirt's operation-failed code. */
export function storeError(detail: string): Error {
  return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.NONE, detail);
}

/**
 * Raised when a file operation on the state failed: as libvirt's virReportSystemError, a
 * system error whose message ends in the errno's text ("…: Not a directory"). An error
 * that carries no errno is the store's own (operation failed), with its message.
 */
export function storeSystemError(what: string, err: unknown): Error {
  const code = errnoCode(err);
  return code !== undefined && /^E[A-Z]+$/.test(code)
    ? virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.NONE, `${what}: ${errnoText(err)}`)
    : storeError(`${what}: ${errnoText(err)}`);
}
