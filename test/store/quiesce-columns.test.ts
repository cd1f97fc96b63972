/**
 * The snapshots table's freeze record (schema version 2): a state directory written by a
 * build with schema version 1 opens, its snapshots read as not quiesced, and the record
 * can only say "N filesystems frozen" for a snapshot marked quiesced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isVirError, VirErrorCode } from '../../src/api/errors.js';
import { DB_FILE_NAME, openStore } from '../../src/store/open-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';

const U1 = '11111111-2222-4333-8444-555555555555';

test('a version-1 state database is migrated: existing snapshots are not quiesced', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'snapvirt-store-')), 'state');
  mkdirSync(dir, { mode: 0o700 });
  const old = new Database(join(dir, DB_FILE_NAME));
  old.pragma('journal_mode = WAL');
  old.exec(MIGRATIONS[0]!.sql);
  old.pragma('user_version = 1');
  const now = new Date().toISOString();
  old.prepare('INSERT INTO domains (uuid, name, persistent_xml, persistent, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)')
    .run(U1, 'vm', '<domain/>', now, now);
  old.prepare("INSERT INTO snapshots (domain_uuid, name, xml, parent, creation_order, is_current) VALUES (?, 's1', '<s1/>', NULL, 1, 1)").run(U1);
  old.close();

  const s = openStore(dir);
  assert.equal(s.schemaVersion(), SCHEMA_VERSION);
  assert.ok(SCHEMA_VERSION >= 2);
  const s1 = s.snapshots.get(U1, 's1');
  assert.equal(s1?.xml, '<s1/>');
  assert.equal(s1?.isCurrent, true);
  assert.equal(s1?.quiesced, false);
  assert.equal(s1?.frozenFilesystems, null);

  s.snapshots.insert({ domainUuid: U1, name: 's2', xml: '<s2/>', parent: 's1' });
  assert.equal(s.snapshots.setQuiesced(U1, 's2', 2), true);
  assert.equal(s.snapshots.setQuiesced(U1, 'nope', 1), false);
  assert.deepEqual([s.snapshots.get(U1, 's2')?.quiesced, s.snapshots.get(U1, 's2')?.frozenFilesystems], [true, 2]);
  // An XML or parent update keeps the record.
  s.snapshots.update(U1, 's2', { xml: '<s2 changed=""/>' });
  assert.equal(s.snapshots.get(U1, 's2')?.frozenFilesystems, 2);
  s.snapshots.setQuiesced(U1, 's1', null);
  assert.deepEqual([s.snapshots.get(U1, 's1')?.quiesced, s.snapshots.get(U1, 's1')?.frozenFilesystems], [true, null]);

  // A count without the quiesced mark, or a negative one, is refused by the schema.
  const refused = (e: unknown): boolean => (isVirError(e, VirErrorCode.INTERNAL_ERROR) && /constraint/i.test(e.message))
    || (e instanceof Error && /CHECK constraint/.test(e.message));
  assert.throws(() => s.db.prepare("UPDATE snapshots SET quiesced = 0, frozen_filesystems = 1 WHERE name = 's2'").run(), refused);
  assert.throws(() => s.db.prepare("UPDATE snapshots SET frozen_filesystems = -1 WHERE name = 's2'").run(), refused);
  s.close();
});
