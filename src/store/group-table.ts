/**
 * Accessors for the group snapshot tables: one record per group (snapvirt's own, beside
 * libvirt's per-domain snapshots) and its members, each a domain and that domain's
 * snapshot. Written inside the operation's commit transaction, with the members' snapshot
 * metadata, so a group and its members' snapshots exist together or not at all.
 */
import type { Database, Statement } from 'better-sqlite3';
import { withSqliteErrors } from './sqlite-errors.js';

/** The state a group records: the members' common state, or 'mixed'. */
export type GroupSnapshotState = 'shutoff' | 'running' | 'paused' | 'disk-snapshot' | 'mixed';

/** One member of a group snapshot. */
export interface GroupMemberRecord {
  readonly domainUuid: string;
  readonly snapshotName: string;
}

/** A group snapshot as stored. */
export interface GroupSnapshotRecord {
  readonly name: string;
  readonly description: string | null;
  /** Seconds since the epoch, as a domain snapshot's creationTime. */
  readonly creationTime: number;
  readonly state: GroupSnapshotState;
  /** Members in the canonical order (by domain UUID). */
  readonly members: readonly GroupMemberRecord[];
}

interface GroupRow { name: string; description: string | null; creation_time: number; state: string }

/** Typed access to group_snapshots and group_snapshot_members. */
export class GroupSnapshotTable {
  readonly #db: Database;
  readonly #get: Statement<[string], GroupRow>;
  readonly #all: Statement<[], GroupRow>;
  readonly #members: Statement<[string], { domain_uuid: string; snapshot_name: string }>;
  readonly #ofMember: Statement<[string, string], { group_name: string }>;
  readonly #ofDomain: Statement<[string], { group_name: string }>;
  readonly #insert: Statement<[string, string | null, number, string]>;
  readonly #insertMember: Statement<[string, string, string]>;
  readonly #remove: Statement<[string]>;
  readonly #removeMember: Statement<[string, string]>;

  constructor(db: Database) {
    this.#db = db;
    const cols = 'name, description, creation_time, state';
    this.#get = db.prepare(`SELECT ${cols} FROM group_snapshots WHERE name = ?`);
    this.#all = db.prepare(`SELECT ${cols} FROM group_snapshots ORDER BY creation_order`);
    this.#members = db.prepare('SELECT domain_uuid, snapshot_name FROM group_snapshot_members WHERE group_name = ? ORDER BY domain_uuid');
    this.#ofMember = db.prepare('SELECT group_name FROM group_snapshot_members WHERE domain_uuid = ? AND snapshot_name = ?');
    this.#ofDomain = db.prepare('SELECT DISTINCT group_name FROM group_snapshot_members WHERE domain_uuid = ? ORDER BY group_name');
    this.#insert = db.prepare(
      `INSERT INTO group_snapshots (${cols}, creation_order)
       VALUES (?, ?, ?, ?, (SELECT coalesce(max(creation_order), 0) + 1 FROM group_snapshots))`);
    this.#insertMember = db.prepare('INSERT INTO group_snapshot_members (group_name, domain_uuid, snapshot_name) VALUES (?, ?, ?)');
    this.#remove = db.prepare('DELETE FROM group_snapshots WHERE name = ?');
    this.#removeMember = db.prepare('DELETE FROM group_snapshot_members WHERE group_name = ? AND domain_uuid = ?');
  }

  #record(row: GroupRow): GroupSnapshotRecord {
    const members = this.#members.all(row.name).map((m) => ({ domainUuid: m.domain_uuid, snapshotName: m.snapshot_name }));
    return { name: row.name, description: row.description, creationTime: row.creation_time, state: row.state as GroupSnapshotState, members };
  }

  /** The group named `name`, or undefined. */
  get(name: string): GroupSnapshotRecord | undefined {
    return withSqliteErrors('reading a group snapshot', () => {
      const row = this.#get.get(name);
      return row === undefined ? undefined : this.#record(row);
    });
  }

  /** Every group, oldest first. */
  list(): GroupSnapshotRecord[] {
    return withSqliteErrors('listing group snapshots', () => this.#all.all().map((r) => this.#record(r)));
  }

  /** The name of the group whose member is snapshot `snapshotName` of domain `uuid`, if any. */
  groupOf(uuid: string, snapshotName: string): string | undefined {
    return withSqliteErrors('reading a group snapshot', () => this.#ofMember.get(uuid, snapshotName)?.group_name);
  }

  /** The names of the groups domain `uuid` is a member of. */
  groupsOfDomain(uuid: string): string[] {
    return withSqliteErrors('reading group snapshots', () => this.#ofDomain.all(uuid).map((r) => r.group_name));
  }

  /** Records a group and its members (a savepoint inside the caller's transaction). */
  add(group: GroupSnapshotRecord): void {
    withSqliteErrors('recording a group snapshot', () => this.#db.transaction(() => {
      this.#insert.run(group.name, group.description, group.creationTime, group.state);
      for (const m of group.members) this.#insertMember.run(group.name, m.domainUuid, m.snapshotName);
    })());
  }

  /** Forgets a group and its member rows. */
  remove(name: string): void {
    withSqliteErrors('removing a group snapshot', () => { this.#remove.run(name); });
  }

  /** Forgets one member of a group (a forced delete of that member's snapshot). */
  removeMember(name: string, uuid: string): void {
    withSqliteErrors('removing a group snapshot member', () => { this.#removeMember.run(name, uuid); });
  }
}
