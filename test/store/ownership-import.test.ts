/**
 * Schema version 4 moves the record of which files snapvirt created (and the shut-off
 * reason) from `qemu-offline/<uuid>.json` into the database: the migration imports the
 * files in its own transaction and removes them only once that committed; files found
 * beside a database that already has the tables (a crash after the import's COMMIT) are
 * removed without being read again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DB_FILE_NAME, openStore } from '../../src/store/open-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';

const U1 = '11111111-2222-4333-8444-555555555555';
const U2 = '22222222-2222-4333-8444-555555555555';

function stateDirAt(version: number): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'snapvirt-own-')), 'state');
  mkdirSync(dir, { mode: 0o700 });
  const old = new Database(join(dir, DB_FILE_NAME));
  old.pragma('journal_mode = WAL');
  for (const m of MIGRATIONS.slice(0, version)) old.exec(m.sql);
  old.pragma(`user_version = ${version}`);
  old.close();
  return dir;
}

function writeOldState(dir: string): string {
  const stateFiles = join(dir, 'qemu-offline');
  mkdirSync(stateFiles, { mode: 0o700 });
  writeFileSync(join(stateFiles, `${U1}.json`), JSON.stringify({ shutoffReason: 4, createdImages: ['/img/b.ov', '/img/a.ov', 7] }));
  writeFileSync(join(stateFiles, `${U2}.json`), '{not json');
  return stateFiles;
}

test('a version-3 state directory: the json ownership files are imported and then removed', () => {
  const dir = stateDirAt(3);
  const stateFiles = writeOldState(dir);
  const s = openStore(dir);
  assert.equal(s.schemaVersion(), SCHEMA_VERSION);
  assert.deepEqual(s.ownership.createdImages(U1), ['/img/a.ov', '/img/b.ov']);
  assert.equal(s.ownership.shutoffReason(U1), 4);
  assert.deepEqual(s.ownership.createdImages(U2), []);
  assert.equal(s.ownership.shutoffReason(U2), undefined);
  assert.equal(existsSync(stateFiles), false, 'the old files are gone once the import committed');
  s.close();
});

test('json files beside a database that has the tables are removed, not imported again', () => {
  const dir = stateDirAt(3);
  let s = openStore(dir);
  s.ownership.change(U1, ['/img/kept.ov'], []);
  s.close();
  // As if the process died after the import's COMMIT and before the files went.
  const stateFiles = writeOldState(dir);
  s = openStore(dir);
  assert.deepEqual(s.ownership.createdImages(U1), ['/img/kept.ov']);
  assert.equal(s.ownership.shutoffReason(U1), undefined);
  assert.equal(existsSync(stateFiles), false);
  s.close();
});

test('ownership rows: change is all or nothing inside a transaction, forgetDomain drops everything', () => {
  const dir = stateDirAt(SCHEMA_VERSION);
  const s = openStore(dir);
  s.ownership.change(U1, ['/img/a', '/img/b'], []);
  assert.throws(() => s.transaction(() => {
    s.ownership.change(U1, ['/img/c'], ['/img/a']);
    s.ownership.change(U1, ['relative/path'], []); // refused by the schema: the whole transaction rolls back
  }));
  assert.deepEqual(s.ownership.createdImages(U1), ['/img/a', '/img/b']);
  s.ownership.setShutoffReason(U1, 2);
  s.ownership.forgetDomain(U1);
  assert.deepEqual(s.ownership.createdImages(U1), []);
  assert.equal(s.ownership.shutoffReason(U1), undefined);
  s.close();
});
