/**
 * Accessors for the `domains` table: one row per domain known to the driver, persistent
 * or running (or both).
 */
import type { Database, Statement } from 'better-sqlite3';
import type { DomainRecord } from './records.js';
import { withSqliteErrors } from './sqlite-errors.js';

interface DomainRow {
  uuid: string;
  name: string;
  persistent_xml: string | null;
  live_xml: string | null;
  persistent: number;
  autostart: number;
  runtime: string | null;
}

function fromRow(row: DomainRow): DomainRecord {
  return {
    uuid: row.uuid,
    name: row.name,
    persistentXml: row.persistent_xml,
    liveXml: row.live_xml,
    persistent: row.persistent === 1,
    autostart: row.autostart === 1,
    runtime: row.runtime,
  };
}

/** The fields of a domain that update() may change (uuid and name identify it). */
export type DomainPatch = Partial<Omit<DomainRecord, 'uuid'>>;

/** Typed access to the domains table. */
export class DomainTable {
  readonly #db: Database;
  readonly #byUuid: Statement<[string], DomainRow>;
  readonly #byName: Statement<[string], DomainRow>;
  readonly #all: Statement<[], DomainRow>;

  constructor(db: Database) {
    this.#db = db;
    this.#byUuid = db.prepare('SELECT * FROM domains WHERE uuid = ?');
    this.#byName = db.prepare('SELECT * FROM domains WHERE name = ?');
    this.#all = db.prepare('SELECT * FROM domains ORDER BY name');
  }

  /** The domain with this UUID, or undefined. */
  get(uuid: string): DomainRecord | undefined {
    const row = withSqliteErrors('reading a domain', () => this.#byUuid.get(uuid));
    return row && fromRow(row);
  }

  /** The domain with this name, or undefined. */
  getByName(name: string): DomainRecord | undefined {
    const row = withSqliteErrors('reading a domain', () => this.#byName.get(name));
    return row && fromRow(row);
  }

  /** All domains, by name. */
  list(): DomainRecord[] {
    return withSqliteErrors('listing domains', () => this.#all.all()).map(fromRow);
  }

  /** Adds a domain; its UUID and name must both be new. */
  insert(rec: DomainRecord): void {
    const now = new Date().toISOString();
    withSqliteErrors(`adding domain '${rec.name}'`, () => this.#db.prepare(
      `INSERT INTO domains (uuid, name, persistent_xml, live_xml, persistent, autostart, runtime, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(rec.uuid, rec.name, rec.persistentXml, rec.liveXml, rec.persistent ? 1 : 0, rec.autostart ? 1 : 0,
      rec.runtime, now, now));
  }

  /** Changes some fields of an existing domain; returns false when there is no such domain. */
  update(uuid: string, patch: DomainPatch): boolean {
    const cur = this.get(uuid);
    if (!cur) return false;
    const next: DomainRecord = { ...cur, ...patch, uuid };
    withSqliteErrors(`updating domain '${cur.name}'`, () => this.#db.prepare(
      `UPDATE domains SET name = ?, persistent_xml = ?, live_xml = ?, persistent = ?, autostart = ?, runtime = ?,
       updated_at = ? WHERE uuid = ?`,
    ).run(next.name, next.persistentXml, next.liveXml, next.persistent ? 1 : 0, next.autostart ? 1 : 0,
      next.runtime, new Date().toISOString(), uuid));
    return true;
  }

  /**
   * Removes a domain; returns false when there was none. Its snapshots must have been
   * removed first (the schema refuses otherwise), so metadata is never dropped by accident.
   */
  delete(uuid: string): boolean {
    const res = withSqliteErrors('removing a domain', () =>
      this.#db.prepare('DELETE FROM domains WHERE uuid = ?').run(uuid));
    return res.changes > 0;
  }
}
