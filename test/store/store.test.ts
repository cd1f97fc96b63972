import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isVirError, VirErrorCode } from '../../src/api/errors.js';
import { openStore } from '../../src/store/open-store.js';
import type { DomainRecord } from '../../src/store/records.js';
import { SCHEMA_VERSION } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';

const U1 = '11111111-2222-4333-8444-555555555555';
const U2 = '11111111-2222-4333-8444-666666666666';

function fresh(): Store {
  return openStore(join(mkdtempSync(join(tmpdir(), 'snapvirt-store-')), 'state'));
}

function domain(uuid: string, name: string, extra: Partial<DomainRecord> = {}): DomainRecord {
  return { uuid, name, persistentXml: `<domain><name>${name}</name></domain>`, liveXml: null, persistent: true,
    autostart: false, runtime: null, ...extra };
}

const constraint = (e: unknown): boolean => isVirError(e, VirErrorCode.INTERNAL_ERROR) && /constraint/i.test(e.message);

test('pragmas: WAL, synchronous=FULL, foreign keys on, busy timeout, current schema version', () => {
  const s = fresh();
  assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(s.db.pragma('synchronous', { simple: true }), 2); // FULL
  assert.equal(s.db.pragma('foreign_keys', { simple: true }), 1);
  assert.ok((s.db.pragma('busy_timeout', { simple: true }) as number) > 0);
  assert.equal(s.schemaVersion(), SCHEMA_VERSION);
  s.close();
});

test('domains: insert, look up by uuid and name, list, update, delete', () => {
  const s = fresh();
  s.domains.insert(domain(U1, 'b-vm'));
  s.domains.insert(domain(U2, 'a-vm', { persistent: false, persistentXml: null, liveXml: '<domain/>', runtime: '{"pid":1}' }));
  assert.equal(s.domains.get(U1)?.name, 'b-vm');
  assert.equal(s.domains.getByName('a-vm')?.uuid, U2);
  assert.equal(s.domains.getByName('a-vm')?.runtime, '{"pid":1}');
  assert.equal(s.domains.get(U2)?.persistent, false);
  assert.deepEqual(s.domains.list().map((d) => d.name), ['a-vm', 'b-vm']);
  assert.equal(s.domains.update(U1, { liveXml: '<live/>', autostart: true }), true);
  assert.deepEqual(s.domains.get(U1), { ...domain(U1, 'b-vm'), liveXml: '<live/>', autostart: true });
  assert.equal(s.domains.update('00000000-0000-4000-8000-000000000000', { autostart: true }), false);
  assert.equal(s.domains.delete(U2), true);
  assert.equal(s.domains.delete(U2), false);
  assert.equal(s.domains.get(U2), undefined);
  s.close();
});

test('domains: unique name and uuid, definition/flag consistency', () => {
  const s = fresh();
  s.domains.insert(domain(U1, 'vm'));
  assert.throws(() => s.domains.insert(domain(U2, 'vm')), constraint);
  assert.throws(() => s.domains.insert(domain(U1, 'other')), constraint);
  assert.throws(() => s.domains.insert(domain(U2, 'p', { persistentXml: null })), constraint, 'persistent needs a definition');
  assert.throws(() => s.domains.insert(domain(U2, 't', { persistent: false })), constraint, 'transient has no persistent XML');
  assert.throws(() => s.domains.insert(domain(U2, 'gone', { persistent: false, persistentXml: null })), constraint,
    'neither defined nor running');
  assert.throws(() => s.domains.insert(domain(U2, 'x', { persistent: false, persistentXml: null, liveXml: '<d/>', autostart: true })),
    constraint, 'autostart needs persistent');
  assert.throws(() => s.domains.insert(domain('not-a-uuid', 'y')), constraint);
  assert.deepEqual(s.domains.list().map((d) => d.name), ['vm']);
  s.close();
});

test('snapshots: insert in creation order, tree queries, current, update, delete', () => {
  const s = fresh();
  s.domains.insert(domain(U1, 'vm'));
  assert.equal(s.snapshots.insert({ domainUuid: U1, name: 'root', xml: '<r/>', parent: null, isCurrent: true }), 1);
  assert.equal(s.snapshots.insert({ domainUuid: U1, name: 'c1', xml: '<c1/>', parent: 'root', isCurrent: true }), 2);
  assert.equal(s.snapshots.insert({ domainUuid: U1, name: 'c2', xml: '<c2/>', parent: 'root' }), 3);
  assert.deepEqual(s.snapshots.list(U1).map((x) => [x.name, x.creationOrder, x.isCurrent]),
    [['root', 1, false], ['c1', 2, true], ['c2', 3, false]]);
  assert.equal(s.snapshots.current(U1)?.name, 'c1');
  assert.deepEqual(s.snapshots.children(U1, 'root').map((x) => x.name), ['c1', 'c2']);
  s.snapshots.setCurrent(U1, 'c2');
  assert.equal(s.snapshots.current(U1)?.name, 'c2');
  s.snapshots.setCurrent(U1, null);
  assert.equal(s.snapshots.current(U1), undefined);
  assert.throws(() => s.snapshots.setCurrent(U1, 'nope'), (e: unknown) => isVirError(e, VirErrorCode.NO_DOMAIN_SNAPSHOT));
  assert.equal(s.snapshots.update(U1, 'c2', { xml: '<c2 v="2"/>' }), true);
  assert.equal(s.snapshots.get(U1, 'c2')?.xml, '<c2 v="2"/>');
  assert.equal(s.snapshots.get(U1, 'c2')?.parent, 'root');
  assert.equal(s.snapshots.update(U1, 'zz', { xml: '' }), false);
  // Delete root alone: re-parent its children first, in one transaction.
  s.transaction(() => {
    s.snapshots.reparentChildren(U1, 'root', null);
    s.snapshots.delete(U1, 'root');
  });
  assert.deepEqual(s.snapshots.list(U1).map((x) => [x.name, x.parent]), [['c1', null], ['c2', null]]);
  // Creation order keeps growing after deletes.
  assert.equal(s.snapshots.insert({ domainUuid: U1, name: 'c3', xml: '<c3/>', parent: 'c1' }), 4);
  assert.equal(s.snapshots.deleteAll(U1), 3);
  s.close();
});

test('snapshots: constraints (parent must exist, not its own parent, one current, unique name, domain must exist)', () => {
  const s = fresh();
  s.domains.insert(domain(U1, 'vm'));
  s.domains.insert(domain(U2, 'vm2'));
  s.snapshots.insert({ domainUuid: U1, name: 'a', xml: '<a/>', parent: null, isCurrent: true });
  assert.throws(() => s.snapshots.insert({ domainUuid: U1, name: 'b', xml: '<b/>', parent: 'missing' }), constraint);
  assert.throws(() => s.snapshots.insert({ domainUuid: U1, name: 'b', xml: '<b/>', parent: 'b' }), constraint);
  assert.throws(() => s.snapshots.insert({ domainUuid: U2, name: 'b', xml: '<b/>', parent: 'a' }), constraint,
    'a parent in another domain does not count');
  assert.throws(() => s.snapshots.insert({ domainUuid: U1, name: 'a', xml: '<a/>', parent: null }), constraint);
  assert.throws(() => s.snapshots.insert({ domainUuid: '00000000-0000-4000-8000-000000000000', name: 'z', xml: '<z/>', parent: null }),
    constraint);
  // Bypassing the accessors, a second current row is still refused by the schema.
  s.snapshots.insert({ domainUuid: U1, name: 'b', xml: '<b/>', parent: 'a' });
  assert.throws(() => s.db.prepare("UPDATE snapshots SET is_current = 1 WHERE name = 'b'").run(), /UNIQUE/);
  // Same snapshot name in two domains is fine.
  s.snapshots.insert({ domainUuid: U2, name: 'a', xml: '<a/>', parent: null, isCurrent: true });
  assert.equal(s.snapshots.current(U1)?.name, 'a');
  assert.equal(s.snapshots.current(U2)?.name, 'a');
  // Deleting a parent whose child still points at it fails and changes nothing.
  assert.throws(() => s.transaction(() => s.snapshots.delete(U1, 'a')), constraint);
  assert.deepEqual(s.snapshots.list(U1).map((x) => x.name), ['a', 'b']);
  // A domain with snapshot metadata cannot be removed by accident.
  assert.throws(() => s.domains.delete(U1), constraint);
  assert.ok(s.domains.get(U1));
  s.close();
});

test('transaction(): all or nothing, nested calls join the outer one', () => {
  const s = fresh();
  s.domains.insert(domain(U1, 'vm'));
  assert.throws(() => s.transaction(() => {
    s.snapshots.insert({ domainUuid: U1, name: 'a', xml: '<a/>', parent: null, isCurrent: true });
    s.domains.update(U1, { autostart: true });
    throw new Error('boom');
  }), /boom/);
  assert.deepEqual(s.snapshots.list(U1), []);
  assert.equal(s.domains.get(U1)?.autostart, false);
  assert.equal(s.db.inTransaction, false);
  const n = s.transaction(() => s.transaction(() => s.snapshots.insert({ domainUuid: U1, name: 'a', xml: '<a/>', parent: null })));
  assert.equal(n, 1);
  assert.equal(s.snapshots.list(U1).length, 1);
  s.close();
});

test('data survives close and reopen; two connections see each other\'s commits', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'snapvirt-store-')), 'state');
  const a = openStore(dir);
  const b = openStore(dir);
  a.domains.insert(domain(U1, 'vm'));
  assert.equal(b.domains.get(U1)?.name, 'vm');
  a.close();
  b.close();
  const c = openStore(dir);
  assert.equal(c.domains.getByName('vm')?.uuid, U1);
  c.close();
});

test('journal rows: insert, open list, outcome, close, prune', () => {
  const s = fresh();
  const id = s.journal.insert({ kind: 'create', domainUuid: U1, domainName: 'vm', intent: '{}', progress: '[]', phase: 'journaled' });
  assert.deepEqual(s.journal.listOpen().map((e) => e.id), [id]);
  assert.deepEqual(s.journal.listOpen(U2), []);
  s.journal.update(id, { phase: 'preparing', error: 'x' });
  assert.equal(s.journal.get(id)?.phase, 'preparing');
  assert.throws(() => s.journal.update(id, { intent: 'not json' }), constraint);
  s.journal.setOutcome(id, 'committed', false);
  assert.equal(s.journal.listOpen().length, 1, 'committed with pending post-commit work stays open');
  s.journal.close(id);
  assert.equal(s.journal.listOpen().length, 0);
  assert.ok(s.journal.get(id)?.closedAt);
  // Only committed/rolled-forward may stay open with an outcome.
  const id2 = s.journal.insert({ kind: 'create', domainUuid: U1, domainName: 'vm', intent: '{}', progress: '[]', phase: 'journaled' });
  assert.throws(() => s.journal.setOutcome(id2, 'rolled-back', false), constraint);
  s.journal.setOutcome(id2, 'rolled-back', true);
  assert.equal(s.journal.prune(1), 1);
  assert.deepEqual(s.journal.listRecent().map((e) => e.id), [id2]);
  const id3 = s.journal.insert({ kind: 'create', domainUuid: U1, domainName: 'vm', intent: '{}', progress: '[]', phase: 'journaled' });
  assert.equal(s.journal.prune(0), 1, 'every closed entry goes');
  assert.deepEqual(s.journal.listRecent().map((e) => e.id), [id3], 'an open entry is never pruned');
  s.close();
});

test('changeStamp changes on this connection\'s writes at once, and on another connection\'s commits from the next turn of the event loop', async () => {
  const { rm } = await import('node:fs/promises');
  const dir = mkdtempSync(join(tmpdir(), 'snapvirt-stamp-'));
  const a = openStore(dir);
  const b = openStore(dir);
  try {
    const first = a.changeStamp();
    assert.equal(a.changeStamp(), first);
    a.transaction(() => a.domains.insert({ uuid: '11111111-1111-1111-1111-111111111111', name: 'one', persistentXml: '<domain/>', liveXml: null, persistent: true, autostart: false, runtime: null }));
    const afterOwn = a.changeStamp();
    assert.notEqual(afterOwn, first);
    b.transaction(() => b.domains.insert({ uuid: '22222222-2222-2222-2222-222222222222', name: 'two', persistentXml: '<domain/>', liveXml: null, persistent: true, autostart: false, runtime: null }));
    await new Promise((resolve) => setImmediate(resolve));
    const afterOther = a.changeStamp();
    assert.notEqual(afterOther, afterOwn);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(a.changeStamp(), afterOther, 'nothing changed since');
  } finally {
    a.close();
    b.close();
    await rm(dir, { recursive: true, force: true });
  }
});
