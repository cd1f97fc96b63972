/**
 * The state database's schema, as an ordered list of migrations. `PRAGMA user_version`
 * holds how many have been applied; each migration runs in the same transaction as the
 * version bump, so a crash mid-migration leaves the previous version intact.
 * Append new migrations; never edit one that has shipped.
 */
import type Database from 'better-sqlite3';
import { importOfflineStateFiles } from './state-file-import.js';

/** One schema migration: the SQL that takes version `index` to `index + 1`. */
export interface Migration {
  readonly description: string;
  readonly sql: string;
  /**
   * Takes in data kept outside the database by older builds, after `sql` and in the same
   * transaction. What it read is removed only once that commits (state-file-import.ts),
   * so a crash leaves either the old files or the new rows, never neither.
   */
  readonly importData?: (db: Database.Database, stateDir: string) => void;
}

/** All migrations, in order. The schema version is MIGRATIONS.length. */
export const MIGRATIONS: readonly Migration[] = [
  {
    description: 'domains, snapshots, journal',
    sql: `
      CREATE TABLE domains (
        uuid            TEXT PRIMARY KEY NOT NULL CHECK (length(uuid) = 36),
        name            TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
        -- The persistent (inactive) definition; NULL for a transient domain.
        persistent_xml  TEXT,
        -- The live definition while the domain runs; NULL when shut off.
        live_xml        TEXT,
        persistent      INTEGER NOT NULL CHECK (persistent IN (0, 1)),
        autostart       INTEGER NOT NULL DEFAULT 0 CHECK (autostart IN (0, 1)),
        -- Driver-owned runtime state as JSON (pid, monitor socket...); NULL when shut off.
        runtime         TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        CHECK (persistent = 0 OR persistent_xml IS NOT NULL),
        CHECK (persistent = 1 OR persistent_xml IS NULL),
        -- A domain nobody can see (neither defined nor running) must not linger.
        CHECK (persistent_xml IS NOT NULL OR live_xml IS NOT NULL),
        CHECK (autostart = 0 OR persistent = 1)
      ) STRICT;

      CREATE TABLE snapshots (
        domain_uuid     TEXT NOT NULL REFERENCES domains(uuid) ON DELETE RESTRICT,
        name            TEXT NOT NULL CHECK (length(name) > 0),
        xml             TEXT NOT NULL,
        parent          TEXT CHECK (parent IS NULL OR parent <> name),
        creation_order  INTEGER NOT NULL,
        is_current      INTEGER NOT NULL DEFAULT 0 CHECK (is_current IN (0, 1)),
        PRIMARY KEY (domain_uuid, name),
        UNIQUE (domain_uuid, creation_order),
        -- Deferred: a delete that re-parents children, or a rename, is checked at COMMIT.
        FOREIGN KEY (domain_uuid, parent) REFERENCES snapshots(domain_uuid, name)
          DEFERRABLE INITIALLY DEFERRED
      ) STRICT;

      -- At most one current snapshot per domain.
      CREATE UNIQUE INDEX snapshots_one_current ON snapshots(domain_uuid) WHERE is_current = 1;
      CREATE INDEX snapshots_by_parent ON snapshots(domain_uuid, parent);

      CREATE TABLE journal (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        kind          TEXT NOT NULL,
        domain_uuid   TEXT NOT NULL,
        domain_name   TEXT NOT NULL,
        -- JSON: the driver's intent plus the planned steps and their resources.
        intent        TEXT NOT NULL CHECK (json_valid(intent)),
        -- JSON: per-step progress, so recovery knows what may exist.
        progress      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(progress)),
        phase         TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        closed_at     TEXT,
        outcome       TEXT CHECK (outcome IS NULL OR outcome IN ('committed', 'rolled-back', 'rolled-forward', 'abandoned')),
        error         TEXT,
        -- Closed needs an outcome; committed or rolled-forward may stay open while post-commit work runs.
        CHECK (closed_at IS NULL OR outcome IS NOT NULL),
        CHECK (outcome IS NULL OR closed_at IS NOT NULL OR outcome IN ('committed', 'rolled-forward'))
      ) STRICT;

      CREATE INDEX journal_open ON journal(domain_uuid) WHERE closed_at IS NULL;
    `,
  },
  {
    description: 'snapshots: whether the guest filesystems were frozen (--quiesce)',
    // Columns with defaults: every existing snapshot reads as not quiesced, which is what
    // the builds before this one did (they recorded the freeze in the journal only).
    sql: `
      ALTER TABLE snapshots ADD COLUMN quiesced INTEGER NOT NULL DEFAULT 0 CHECK (quiesced IN (0, 1));
      -- How many filesystems the guest agent froze; NULL when unknown or not quiesced.
      ALTER TABLE snapshots ADD COLUMN frozen_filesystems INTEGER
        CHECK (frozen_filesystems IS NULL OR (quiesced = 1 AND frozen_filesystems >= 0));
    `,
  },
  {
    description: 'snapshots: indexes for the tree at scale (its heads in creation order; a snapshot\'s children in creation order)',
    // Building a domain's tree reads only names, parents and the current flag, but from the
    // table each row's parent sits behind its XML (kilobytes, often in overflow pages):
    // with 10,000 snapshots the covering index answers in a quarter of the time. Children
    // "in creation order" used the creation-order index and scanned every snapshot of the
    // domain (20 ms at 10,000); with creation_order in the parent index they are a lookup.
    sql: `
      CREATE INDEX snapshots_heads ON snapshots(domain_uuid, creation_order, name, parent, is_current);
      DROP INDEX snapshots_by_parent;
      CREATE INDEX snapshots_by_parent ON snapshots(domain_uuid, parent, creation_order);
    `,
  },
  {
    description: 'ownership: the image files snapvirt created per domain, and the shut-off reason it reports',
    // Kept in qemu-offline/<uuid>.json before, written just before COMMIT but outside it:
    // a crash in between lost the record of files snapvirt made. Now the rows commit with
    // the operation. No foreign key: a record outlives nothing, but the import takes in
    // files of domains the database may no longer know, and undefine forgets explicitly.
    sql: `
      CREATE TABLE created_images (
        domain_uuid TEXT NOT NULL CHECK (length(domain_uuid) = 36),
        path        TEXT NOT NULL CHECK (substr(path, 1, 1) = '/'),
        PRIMARY KEY (domain_uuid, path)
      ) STRICT;
      CREATE INDEX created_images_by_path ON created_images(path);
      CREATE TABLE shutoff_reasons (
        domain_uuid TEXT PRIMARY KEY NOT NULL CHECK (length(domain_uuid) = 36),
        reason      INTEGER NOT NULL
      ) STRICT;
    `,
    importData: importOfflineStateFiles,
  },
  {
    description: 'group snapshots: one record per group (INCOMPLETE until its commit) and its members',
    // A group is snapvirt's own (no libvirt counterpart). Its rows are written in the same
    // transaction as every member's snapshot metadata, so a group never names a snapshot
    // that is not there. A member row names a domain and that domain's snapshot; no
    // foreign key to snapshots: a forced delete of one member's snapshot drops its row
    // in the same transaction (and a domain's undefine forgets its rows explicitly).
    sql: `
      CREATE TABLE group_snapshots (
        name            TEXT PRIMARY KEY NOT NULL CHECK (length(name) > 0),
        description     TEXT,
        creation_time   INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('shutoff', 'running', 'paused', 'disk-snapshot', 'mixed')),
        creation_order  INTEGER NOT NULL UNIQUE
      ) STRICT;
      CREATE TABLE group_snapshot_members (
        group_name      TEXT NOT NULL REFERENCES group_snapshots(name) ON DELETE CASCADE,
        domain_uuid     TEXT NOT NULL CHECK (length(domain_uuid) = 36),
        snapshot_name   TEXT NOT NULL CHECK (length(snapshot_name) > 0),
        PRIMARY KEY (group_name, domain_uuid)
      ) STRICT;
      CREATE INDEX group_snapshot_members_by_member ON group_snapshot_members(domain_uuid, snapshot_name);
    `,
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
