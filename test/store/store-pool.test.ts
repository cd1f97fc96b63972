/**
 * StorePool: one open store per state directory, lent to every lease and kept open between
 * them; a closed pool closes what nobody holds and the rest at its last release; a store
 * that could only be opened read-only is never pooled. The library's connect() with a pool
 * shares its store across connections (snapvirtd's clients do this).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, type Connection } from '../../src/api/connection.js';
import type { QemuDriver } from '../../src/drivers/qemu/qemu-driver.js';
import { openStore, StorePool, type Store } from '../../src/store/index.js';
import { mountReadOnlyBind } from '../helpers/mounts.js';
import { makeTempDir } from '../helpers/temp-dir.js';

test('leases of one state directory share one store, which stays open between them', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const pool = new StorePool();
  const a = pool.lease(join(tmp.path, 'state'));
  const b = pool.lease(join(tmp.path, 'state', '.'));
  assert.equal(a.store, b.store);
  const other = pool.lease(join(tmp.path, 'other'));
  assert.notEqual(other.store, a.store);
  a.release();
  a.release(); // a second release of one lease does not count twice
  b.release();
  other.release();
  assert.equal(a.store.db.open, true, 'the pool keeps the store open with no borrower');
  const c = pool.lease(join(tmp.path, 'state'));
  assert.equal(c.store, a.store);

  pool.close();
  assert.equal(other.store.db.open, false, 'an idle store closes with the pool');
  assert.equal(c.store.db.open, true, 'a borrowed store stays open until its borrower is done');
  c.release();
  assert.equal(c.store.db.open, false);

  const late = pool.lease(join(tmp.path, 'state'));
  assert.notEqual(late.store, c.store, 'a closed pool lends nothing of its own');
  late.release();
  assert.equal(late.store.db.open, false);
});

test('a state directory that cannot be written gets a store of its own per lease', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const state = join(tmp.path, 'state');
  openStore(state).close();
  // tmp.cleanup() unmounts it.
  await mountReadOnlyBind(state, state);
  const pool = new StorePool();
  const a = pool.lease(state);
  const b = pool.lease(state);
  assert.ok(a.store.writeRefusal, 'opened read-only');
  assert.notEqual(a.store, b.store);
  a.release();
  assert.equal(a.store.db.open, false);
  b.release();
  pool.close();
});

test('connections opened with one pool share its store; closing them leaves it open for the next', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  process.env.SNAPVIRT_STATE_DIR = join(tmp.path, 'state');
  t.after(() => { delete process.env.SNAPVIRT_STATE_DIR; });
  const pool = new StorePool();
  const storeOf = (c: Connection): Store => (c.driver as QemuDriver).store;
  const a = await connect('qemu:///session', { storePool: pool });
  const b = await connect('qemu:///session', { storePool: pool });
  const own = await connect('qemu:///session');
  assert.equal(storeOf(a), storeOf(b));
  assert.notEqual(storeOf(own), storeOf(a));
  const shared = storeOf(a);
  await a.close();
  await b.close();
  await own.close();
  assert.equal(shared.db.open, true);
  assert.equal(storeOf(own).db.open, false, 'a connection without a pool closes its own store');
  const c = await connect('qemu:///session', { storePool: pool });
  assert.equal(storeOf(c), shared);
  await c.close();
  pool.close();
  assert.equal(shared.db.open, false);
});
