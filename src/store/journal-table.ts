/**
 * Accessors for the `journal` table: the intent log of mutating operations. Rows are
 * written by txn/journal.ts; this file only knows the columns.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { JournalOutcome, JournalRecord } from './records.js';
import { withSqliteErrors } from './sqlite-errors.js';

interface JournalRow {
  id: number;
  kind: string;
  domain_uuid: string;
  domain_name: string;
  intent: string;
  progress: string;
  phase: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  outcome: JournalOutcome | null;
  error: string | null;
}

function fromRow(row: JournalRow): JournalRecord {
  return {
    id: row.id,
    kind: row.kind,
    domainUuid: row.domain_uuid,
    domainName: row.domain_name,
    intent: row.intent,
    progress: row.progress,
    phase: row.phase,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    closedAt: row.closed_at,
    outcome: row.outcome,
    error: row.error,
  };
}

/** What insert() needs for a new journal entry. */
export interface NewJournalEntry {
  kind: string;
  domainUuid: string;
  domainName: string;
  intent: string;
  progress: string;
  phase: string;
}

/** The mutable fields of a journal entry. */
export interface JournalPatch {
  intent?: string;
  progress?: string;
  phase?: string;
  error?: string | null;
}

/** Typed access to the journal table. */
export class JournalTable {
  readonly #db: Database;
  readonly #one: Statement<[number], JournalRow>;
  readonly #open: Statement<[], JournalRow>;
  readonly #openFor: Statement<[string], JournalRow>;

  constructor(db: Database) {
    this.#db = db;
    this.#one = db.prepare('SELECT * FROM journal WHERE id = ?');
    this.#open = db.prepare('SELECT * FROM journal WHERE closed_at IS NULL ORDER BY id');
    this.#openFor = db.prepare('SELECT * FROM journal WHERE closed_at IS NULL AND domain_uuid = ? ORDER BY id');
  }

  /** The entry with this id, or undefined. */
  get(id: number): JournalRecord | undefined {
    const row = withSqliteErrors('reading the journal', () => this.#one.get(id));
    return row && fromRow(row);
  }

  /** Unclosed entries (all, or one domain's), oldest first. */
  listOpen(domainUuid?: string): JournalRecord[] {
    const rows = withSqliteErrors('reading the journal', () =>
      domainUuid === undefined ? this.#open.all() : this.#openFor.all(domainUuid));
    return rows.map(fromRow);
  }

  /** All entries, newest first, at most `limit`. */
  listRecent(limit = 100): JournalRecord[] {
    return withSqliteErrors('reading the journal', () => this.#db.prepare(
      'SELECT * FROM journal ORDER BY id DESC LIMIT ?').all(limit) as JournalRow[]).map(fromRow);
  }

  /** Adds an entry; returns its id. */
  insert(entry: NewJournalEntry): number {
    const now = new Date().toISOString();
    const res = withSqliteErrors('writing the journal', () => this.#db.prepare(
      `INSERT INTO journal (kind, domain_uuid, domain_name, intent, progress, phase, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(entry.kind, entry.domainUuid, entry.domainName, entry.intent, entry.progress, entry.phase, now, now));
    return Number(res.lastInsertRowid);
  }

  /** Changes the mutable fields of an open entry. */
  update(id: number, patch: JournalPatch): void {
    const cur = this.get(id);
    if (!cur) throw new RangeError(`no journal entry ${id}`);
    withSqliteErrors('writing the journal', () => this.#db.prepare(
      'UPDATE journal SET intent = ?, progress = ?, phase = ?, error = ?, updated_at = ? WHERE id = ?',
    ).run(patch.intent ?? cur.intent, patch.progress ?? cur.progress, patch.phase ?? cur.phase,
      patch.error === undefined ? cur.error : patch.error, new Date().toISOString(), id));
  }

  /** Records the outcome; `close` false keeps the entry open (committed, post-commit work pending). */
  setOutcome(id: number, outcome: JournalOutcome, close: boolean): void {
    const now = new Date().toISOString();
    withSqliteErrors('writing the journal', () => this.#db.prepare(
      'UPDATE journal SET outcome = ?, closed_at = ?, updated_at = ? WHERE id = ?',
    ).run(outcome, close ? now : null, now, id));
  }

  /** Closes an entry, keeping its recorded outcome. */
  close(id: number): void {
    const now = new Date().toISOString();
    withSqliteErrors('writing the journal', () => this.#db.prepare(
      'UPDATE journal SET closed_at = ?, updated_at = ? WHERE id = ? AND outcome IS NOT NULL',
    ).run(now, now, id));
  }

  /** How many entries there are, open or closed. */
  count(): number {
    return withSqliteErrors('reading the journal', () => (this.#db.prepare('SELECT count(*) AS n FROM journal').get() as { n: number }).n);
  }

  /** Deletes closed entries beyond the newest `keep`; returns how many went. */
  prune(keep = 1000): number {
    return withSqliteErrors('pruning the journal', () => this.#db.prepare(
      `DELETE FROM journal WHERE closed_at IS NOT NULL AND id NOT IN
         (SELECT id FROM journal ORDER BY id DESC LIMIT ?)`,
    ).run(keep).changes);
  }
}
