/**
 * Accessors for the `snapshots` table: each domain's snapshot metadata, the tree (parent
 * names) and the current snapshot (at most one per domain, enforced by a unique index).
 */
import type { Database, Statement } from 'better-sqlite3';
import type { SnapshotRecord } from './records.js';
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import { withSqliteErrors } from './sqlite-errors.js';

interface SnapshotRow {
  domain_uuid: string;
  name: string;
  xml: string;
  parent: string | null;
  creation_order: number;
  is_current: number;
  quiesced: number;
  frozen_filesystems: number | null;
}

function fromRow(row: SnapshotRow): SnapshotRecord {
  return {
    domainUuid: row.domain_uuid,
    name: row.name,
    xml: row.xml,
    parent: row.parent,
    creationOrder: row.creation_order,
    isCurrent: row.is_current === 1,
    quiesced: row.quiesced === 1,
    frozenFilesystems: row.frozen_filesystems,
  };
}

/** A snapshot's place in its domain's tree, without its XML. */
export type SnapshotHead = Pick<SnapshotRecord, 'name' | 'parent' | 'isCurrent'>;

/** What insert() needs: creation order is assigned by the store. */
export interface NewSnapshot {
  domainUuid: string;
  name: string;
  xml: string;
  parent: string | null;
  /** Make it the domain's current snapshot (clearing the previous current one). */
  isCurrent?: boolean;
}

/** Typed access to the snapshots table. */
export class SnapshotTable {
  readonly #db: Database;
  readonly #one: Statement<[string, string], SnapshotRow>;
  readonly #all: Statement<[string], SnapshotRow>;
  readonly #children: Statement<[string, string], SnapshotRow>;
  readonly #current: Statement<[string], SnapshotRow>;

  constructor(db: Database) {
    this.#db = db;
    this.#one = db.prepare('SELECT * FROM snapshots WHERE domain_uuid = ? AND name = ?');
    this.#all = db.prepare('SELECT * FROM snapshots WHERE domain_uuid = ? ORDER BY creation_order');
    this.#children = db.prepare(
      'SELECT * FROM snapshots WHERE domain_uuid = ? AND parent = ? ORDER BY creation_order');
    this.#current = db.prepare('SELECT * FROM snapshots WHERE domain_uuid = ? AND is_current = 1');
  }

  /** The named snapshot of a domain, or undefined. */
  get(domainUuid: string, name: string): SnapshotRecord | undefined {
    const row = withSqliteErrors('reading a snapshot', () => this.#one.get(domainUuid, name));
    return row && fromRow(row);
  }

  /** True when the domain has a snapshot called `name` (the XML is not read). */
  has(domainUuid: string, name: string): boolean {
    return withSqliteErrors('reading a snapshot', () => (this.#exists ??= this.#db.prepare(
      'SELECT 1 FROM snapshots WHERE domain_uuid = ? AND name = ?').pluck()).get(domainUuid, name)) !== undefined;
  }
  #exists: Statement<[string, string]> | undefined;

  /** The name of the domain's current snapshot, or undefined (the XML is not read). */
  currentName(domainUuid: string): string | undefined {
    return withSqliteErrors('reading the current snapshot', () => (this.#currentName ??= this.#db.prepare(
      'SELECT name FROM snapshots WHERE domain_uuid = ? AND is_current = 1').pluck()).get(domainUuid)) as string | undefined;
  }
  #currentName: Statement<[string]> | undefined;

  /** All snapshots of a domain, in creation order. */
  list(domainUuid: string): SnapshotRecord[] {
    return withSqliteErrors('listing snapshots', () => this.#all.all(domainUuid)).map(fromRow);
  }

  /**
   * Name, parent and current flag of every snapshot of a domain, in creation order, without
   * the XML: the tree of 10,000 snapshots from one cheap query.
   */
  listHeads(domainUuid: string): SnapshotHead[] {
    // Answered from the covering index snapshots_heads; rows as arrays cost half as much as objects.
    const rows = withSqliteErrors('listing snapshots', () => (this.#heads ??= this.#db.prepare(
      'SELECT name, parent, is_current FROM snapshots WHERE domain_uuid = ? ORDER BY creation_order').raw(true)).all(domainUuid)) as
      Array<[name: string, parent: string | null, isCurrent: number]>;
    return rows.map(([name, parent, isCurrent]) => ({ name, parent, isCurrent: isCurrent === 1 }));
  }
  #heads: Statement<[string]> | undefined;

  /** The direct children of a snapshot, in creation order. */
  children(domainUuid: string, name: string): SnapshotRecord[] {
    return withSqliteErrors('listing snapshot children', () => this.#children.all(domainUuid, name)).map(fromRow);
  }

  /** The domain's current snapshot, or undefined. */
  current(domainUuid: string): SnapshotRecord | undefined {
    const row = withSqliteErrors('reading the current snapshot', () => this.#current.get(domainUuid));
    return row && fromRow(row);
  }

  /** Adds a snapshot; returns its creation order. The parent, if any, must exist by COMMIT. */
  insert(snap: NewSnapshot): number {
    return withSqliteErrors(`adding snapshot '${snap.name}'`, () => this.#db.transaction(() => {
      const next = this.#db.prepare(
        'SELECT coalesce(max(creation_order), 0) + 1 AS n FROM snapshots WHERE domain_uuid = ?',
      ).get(snap.domainUuid) as { n: number };
      if (snap.isCurrent) this.#clearCurrent(snap.domainUuid);
      this.#db.prepare(
        `INSERT INTO snapshots (domain_uuid, name, xml, parent, creation_order, is_current)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(snap.domainUuid, snap.name, snap.xml, snap.parent, next.n, snap.isCurrent ? 1 : 0);
      return next.n;
    })());
  }

  /** Replaces a snapshot's XML and/or parent; returns false when there is no such snapshot. */
  update(domainUuid: string, name: string, patch: { xml?: string; parent?: string | null }): boolean {
    const cur = this.get(domainUuid, name);
    if (!cur) return false;
    withSqliteErrors(`updating snapshot '${name}'`, () => this.#db.prepare(
      'UPDATE snapshots SET xml = ?, parent = ? WHERE domain_uuid = ? AND name = ?',
    ).run(patch.xml ?? cur.xml, patch.parent === undefined ? cur.parent : patch.parent, domainUuid, name));
    return true;
  }

  /**
   * Records that snapshot `name` was taken with the guest's filesystems frozen
   * (`frozenFilesystems` of them, null when unknown); false when there is no such snapshot.
   */
  setQuiesced(domainUuid: string, name: string, frozenFilesystems: number | null): boolean {
    return withSqliteErrors(`recording the freeze of snapshot '${name}'`, () => this.#db.prepare(
      'UPDATE snapshots SET quiesced = 1, frozen_filesystems = ? WHERE domain_uuid = ? AND name = ?',
    ).run(frozenFilesystems, domainUuid, name).changes > 0);
  }

  /** Makes `name` the current snapshot, or clears the current snapshot when `name` is null. */
  setCurrent(domainUuid: string, name: string | null): void {
    withSqliteErrors('setting the current snapshot', () => this.#db.transaction(() => {
      // Two statements: SQLite checks the unique index row by row, so a single UPDATE
      // that clears one row and sets another can trip over its own intermediate state.
      this.#clearCurrent(domainUuid);
      if (name !== null) {
        const res = this.#db.prepare(
          'UPDATE snapshots SET is_current = 1 WHERE domain_uuid = ? AND name = ?').run(domainUuid, name);
        if (res.changes !== 1) {
          throw virError(VirErrorCode.NO_DOMAIN_SNAPSHOT, VirErrorDomain.DOMAIN_SNAPSHOT, `no domain snapshot with matching name '${name}'`);
        }
      }
    })());
  }

  /** Points every child of `name` at `newParent` (the step before deleting `name` alone). */
  reparentChildren(domainUuid: string, name: string, newParent: string | null): number {
    return withSqliteErrors(`re-parenting the children of '${name}'`, () => this.#db.prepare(
      'UPDATE snapshots SET parent = ? WHERE domain_uuid = ? AND parent = ?',
    ).run(newParent, domainUuid, name).changes);
  }

  /** Removes one snapshot's metadata; returns false when there was none. Children must be re-parented or removed by COMMIT. */
  delete(domainUuid: string, name: string): boolean {
    return withSqliteErrors(`removing snapshot '${name}'`, () => this.#db.prepare(
      'DELETE FROM snapshots WHERE domain_uuid = ? AND name = ?').run(domainUuid, name).changes > 0);
  }

  /** Removes every snapshot of a domain (undefine with snapshots-metadata); returns how many. */
  deleteAll(domainUuid: string): number {
    return withSqliteErrors('removing all snapshots', () => this.#db.prepare(
      'DELETE FROM snapshots WHERE domain_uuid = ?').run(domainUuid).changes);
  }

  #clearCurrent(domainUuid: string): void {
    this.#db.prepare('UPDATE snapshots SET is_current = 0 WHERE domain_uuid = ? AND is_current = 1').run(domainUuid);
  }
}
