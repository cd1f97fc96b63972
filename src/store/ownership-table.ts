/**
 * Accessors for the ownership tables: which image files snapvirt created for a domain
 * (the only files any operation may ever discard) and the shut-off reason it reports
 * while the domain is off. Written inside the operation's commit transaction, so the
 * record and the metadata that needs it commit together or not at all.
 */
import type { Database, Statement } from 'better-sqlite3';
import { withSqliteErrors } from './sqlite-errors.js';

/** One created file and the domain it was created for. */
export interface OwnedImage {
  readonly domainUuid: string;
  readonly path: string;
}

/** Typed access to the created_images and shutoff_reasons tables. */
export class OwnershipTable {
  readonly #db: Database;
  readonly #createdOf: Statement<[string], { path: string }>;
  readonly #all: Statement<[], { domain_uuid: string; path: string }>;
  readonly #add: Statement<[string, string]>;
  readonly #drop: Statement<[string, string]>;
  readonly #dropDomain: Statement<[string]>;
  readonly #reasonOf: Statement<[string], { reason: number }>;
  readonly #setReason: Statement<[string, number]>;
  readonly #dropReason: Statement<[string]>;

  constructor(db: Database) {
    this.#db = db;
    this.#createdOf = db.prepare('SELECT path FROM created_images WHERE domain_uuid = ? ORDER BY path');
    this.#all = db.prepare('SELECT domain_uuid, path FROM created_images ORDER BY domain_uuid, path');
    this.#add = db.prepare('INSERT INTO created_images (domain_uuid, path) VALUES (?, ?) ON CONFLICT (domain_uuid, path) DO NOTHING');
    this.#drop = db.prepare('DELETE FROM created_images WHERE domain_uuid = ? AND path = ?');
    this.#dropDomain = db.prepare('DELETE FROM created_images WHERE domain_uuid = ?');
    this.#reasonOf = db.prepare('SELECT reason FROM shutoff_reasons WHERE domain_uuid = ?');
    this.#setReason = db.prepare(
      'INSERT INTO shutoff_reasons (domain_uuid, reason) VALUES (?, ?) ON CONFLICT (domain_uuid) DO UPDATE SET reason = excluded.reason');
    this.#dropReason = db.prepare('DELETE FROM shutoff_reasons WHERE domain_uuid = ?');
  }

  /** The absolute paths snapvirt created for domain `uuid`, sorted. */
  createdImages(uuid: string): string[] {
    return withSqliteErrors('reading created images', () => this.#createdOf.all(uuid).map((r) => r.path));
  }

  /** Every created file of every domain. */
  allCreatedImages(): OwnedImage[] {
    return withSqliteErrors('reading created images', () =>
      this.#all.all().map((r) => ({ domainUuid: r.domain_uuid, path: r.path })));
  }

  /** Records `created` as made for `uuid` and forgets `forgotten`, in one transaction (a savepoint inside another). */
  change(uuid: string, created: readonly string[], forgotten: readonly string[]): void {
    withSqliteErrors('recording created images', () => this.#db.transaction(() => {
      for (const p of forgotten) this.#drop.run(uuid, p);
      for (const p of created) this.#add.run(uuid, p);
    })());
  }

  /** The shut-off reason kept for `uuid`, if any. */
  shutoffReason(uuid: string): number | undefined {
    return withSqliteErrors('reading a shut-off reason', () => this.#reasonOf.get(uuid)?.reason);
  }

  /** Sets (a number) or forgets (undefined) the shut-off reason of `uuid`; true when a row changed. */
  setShutoffReason(uuid: string, reason: number | undefined): boolean {
    return withSqliteErrors('recording a shut-off reason', () =>
      (reason === undefined ? this.#dropReason.run(uuid) : this.#setReason.run(uuid, reason)).changes > 0);
  }

  /** Forgets everything kept for `uuid` (undefine: its files become the user's). */
  forgetDomain(uuid: string): void {
    withSqliteErrors('forgetting a domain\'s created images', () => this.#db.transaction(() => {
      this.#dropDomain.run(uuid);
      this.#dropReason.run(uuid);
    })());
  }
}
