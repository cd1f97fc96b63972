/** The store's files: modes, damaged files (clear error, file untouched), unwritable directories. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isVirError, VirErrorCode } from '../../src/api/errors.js';
import { checkedStampPath, isUnchangedSinceClose } from '../../src/store/db-check-stamp.js';
import { DB_FILE_NAME, openStore } from '../../src/store/open-store.js';

const U1 = '11111111-2222-4333-8444-555555555555';

function newDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'snapvirt-files-')), 'state');
}

/** A state dir holding a closed database with some rows (several pages, so truncation can bite). */
function populated(): { dir: string; db: string } {
  const dir = newDir();
  const s = openStore(dir);
  s.domains.insert({ uuid: U1, name: 'vm', persistentXml: `<domain>${'x'.repeat(20000)}</domain>`, liveXml: null,
    persistent: true, autostart: false, runtime: null });
  for (let i = 0; i < 50; i++) {
    s.snapshots.insert({ domainUuid: U1, name: `s${i}`, xml: `<s>${'y'.repeat(500)}</s>`, parent: i === 0 ? null : `s${i - 1}` });
  }
  s.close();
  return { dir, db: join(dir, DB_FILE_NAME) };
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function assertDamaged(dir: string, db: string, pattern: RegExp): void {
  const before = sha(db);
  assert.throws(() => openStore(dir), (e: unknown) =>
    isVirError(e, VirErrorCode.OPERATION_FAILED) && /is damaged/.test(e.message) && pattern.test(e.message)
    && e.message.includes(db) && /left untouched/.test(e.message));
  assert.equal(sha(db), before, 'the damaged file is byte for byte unchanged');
}

test('new state dir is 0700, database and its WAL files 0600; no stray files', () => {
  const dir = newDir();
  const s = openStore(dir);
  s.domains.insert({ uuid: U1, name: 'vm', persistentXml: '<d/>', liveXml: null, persistent: true, autostart: false, runtime: null });
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of readdirSync(dir)) {
    assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
  }
  assert.ok(existsSync(join(dir, `${DB_FILE_NAME}-wal`)));
  s.close();
  assert.deepEqual(readdirSync(dir).sort(), [DB_FILE_NAME, `${DB_FILE_NAME}.checked`]);
  assert.equal(statSync(join(dir, `${DB_FILE_NAME}.checked`)).mode & 0o777, 0o600);
});

test('files stay 0600 under a permissive umask', () => {
  const dir = newDir();
  const old = process.umask(0);
  try {
    openStore(dir).close();
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, DB_FILE_NAME)).mode & 0o777, 0o600);
});

test('an existing state dir keeps its mode; the database inside is still 0600', () => {
  const dir = newDir();
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  chmodSync(dir, 0o750);
  openStore(dir).close();
  assert.equal(statSync(dir).mode & 0o777, 0o750);
  assert.equal(statSync(join(dir, DB_FILE_NAME)).mode & 0o777, 0o600);
});

test('truncated database: clear error, file unchanged', () => {
  const { dir, db } = populated();
  truncateSync(db, Math.floor(statSync(db).size / 2));
  assertDamaged(dir, db, /truncated/);
});

test('truncated to a whole number of pages: still detected', () => {
  const { dir, db } = populated();
  truncateSync(db, 4096 * 3);
  assertDamaged(dir, db, /truncated/);
});

test('empty database file: clear error, not silently a fresh database', () => {
  const { dir, db } = populated();
  truncateSync(db, 0);
  assertDamaged(dir, db, /empty/);
});

test('garbled header: clear error, file unchanged', () => {
  const { dir, db } = populated();
  const buf = readFileSync(db);
  buf.write('NOT A DATABASE!!', 0, 'latin1');
  writeFileSync(db, buf);
  assertDamaged(dir, db, /not an SQLite database/);
});

test('garbled pages in the middle: clear error, file unchanged', () => {
  const { dir, db } = populated();
  const buf = readFileSync(db);
  // Page 2 onwards (the b-tree roots of the tables): overwrite with junk.
  for (let i = 4096; i < Math.min(buf.length, 4096 * 6); i++) buf[i] = (i * 7919) & 0xff;
  writeFileSync(db, buf);
  assertDamaged(dir, db, /.+/);
});

test('a clean close is recorded; any later write, a WAL with pages, or a missing record means a full check', () => {
  const { dir, db } = populated();
  assert.equal(isUnchangedSinceClose(db), true, 'just closed');
  const s = openStore(dir);
  s.domains.update(U1, { name: 'vm2' });
  assert.equal(isUnchangedSinceClose(db), false, 'open, with its WAL holding pages');
  s.close();
  assert.equal(isUnchangedSinceClose(db), true, 'closed again');
  const before = statSync(db);
  writeFileSync(db, readFileSync(db)); // the same bytes, written again
  utimesSync(db, before.atime, before.mtime); // mtime set back; the ctime cannot be
  assert.equal(isUnchangedSinceClose(db), false, 'written by someone else');
  openStore(dir).close();
  rmSync(checkedStampPath(db));
  assert.equal(isUnchangedSinceClose(db), false, 'no record');
});

test('damage is found after a clean close, and the full check is what finds it', () => {
  const { dir, db } = populated();
  const buf = readFileSync(db);
  for (let i = 4096; i < Math.min(buf.length, 4096 * 6); i++) buf[i] = (i * 7919) & 0xff;
  writeFileSync(db, buf);
  assertDamaged(dir, db, /integrity check failed|malformed|not a database/);
  // Were the record forged to match the damaged file, only the header checks would run:
  // the skip depends on the record alone, which is why any write must invalidate it.
  const st = statSync(db, { bigint: true });
  writeFileSync(checkedStampPath(db), `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`);
  assert.equal(isUnchangedSinceClose(db), true);
});

test('a database from a newer snapvirt is refused, not downgraded', () => {
  const { dir, db } = populated();
  const s = openStore(dir);
  s.db.pragma('user_version = 99');
  s.close();
  const before = sha(db);
  assert.throws(() => openStore(dir), /schema version 99, newer than this snapvirt understands/);
  assert.equal(sha(db), before);
});

test('a state dir path that is a file gives a clear error', () => {
  const dir = newDir();
  mkdirSync(dirname(dir), { recursive: true });
  writeFileSync(dir, 'i am a file');
  assert.throws(() => openStore(dir), (e: unknown) => isVirError(e) && /is not a directory/.test(e.message));
});

const openChild = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'open-child.js');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

interface OpenResult { status: number | null; stdout: string; stderr: string }

function openInChild(dir: string, uid?: number): OpenResult {
  const r = spawnSync(process.execPath, [openChild, dir], { encoding: 'utf8', ...(uid === undefined ? {} : { uid, gid: uid }) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Root ignores permission bits, so as root the unwritable directory is made one of two
 * ways: the child runs as uid 65534 (when that user can reach dist/ and node_modules/),
 * or else the directory is made immutable with chattr +i, which binds root too.
 */
type Lockdown = { run(dir: string): OpenResult; seal(dir: string): void; unseal(dir: string): void };

function lockdown(): Lockdown {
  const plain: Lockdown = {
    run: (dir) => openInChild(dir),
    seal: (dir) => chmodSync(dir, 0o555),
    unseal: (dir) => chmodSync(dir, 0o755),
  };
  if (!isRoot) return plain;
  const probe = mkdtempSync(join(tmpdir(), 'snapvirt-probe-'));
  chmodSync(probe, 0o777);
  // The directory is the child's own (a state directory of another user is refused as untrusted).
  if (openInChild(join(probe, 'state'), 65534).status === 0) {
    return { ...plain, run: (dir) => openInChild(dir, 65534), seal: (dir) => { chownSync(dir, 65534, 65534); plain.seal(dir); } };
  }
  return {
    run: (dir) => openInChild(dir),
    seal: (dir) => {
      const r = spawnSync('chattr', ['+i', dir], { encoding: 'utf8' });
      assert.equal(r.status, 0, `as root, uid 65534 cannot reach the tests and chattr +i failed: ${r.stderr}`);
    },
    unseal: (dir) => { spawnSync('chattr', ['-i', dir]); },
  };
}

test('a read-only state directory gives a clear error', () => {
  const how = lockdown();
  const base = mkdtempSync(join(tmpdir(), 'snapvirt-ro-'));
  chmodSync(base, 0o755);
  const dir = join(base, 'state');
  mkdirSync(dir);
  how.seal(dir);
  try {
    const r = how.run(dir);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^operation failed: state directory '${dir}' is not writable: (Permission denied|Operation not permitted)\\n$`));
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    how.unseal(dir);
  }
});

test('a state directory that cannot be created gives a clear error', () => {
  const how = lockdown();
  const base = mkdtempSync(join(tmpdir(), 'snapvirt-ro-'));
  how.seal(base);
  const dir = join(base, 'state');
  try {
    const r = how.run(dir);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^cannot create state directory '${dir}': (Permission denied|Operation not permitted)\\n$`));
    assert.equal(existsSync(dir), false);
  } finally {
    how.unseal(base);
  }
});

test('several processes creating the same new store at once all succeed, with one database', async () => {
  const dir = newDir();
  const runs = Array.from({ length: 6 }, () => new Promise<{ code: number | null; err: string }>((resolve) => {
    const child = spawn(process.execPath, [openChild, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('close', (code) => resolve({ code, err }));
  }));
  for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.err);
  // The clean-close record is there unless every close found another connection open.
  assert.deepEqual(readdirSync(dir).filter((f) => f !== `${DB_FILE_NAME}.checked`), [DB_FILE_NAME]);
  const s = openStore(dir);
  assert.equal(s.domains.list().length, 0);
  s.close();
});
