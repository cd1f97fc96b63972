/**
 * Creating and deleting one snapshot write the store through indexed lookups
 * (storeCreatedSnapshot, removeStoredSnapshot) instead of loading and saving the whole
 * tree; the rows they leave must be exactly those the whole-tree path leaves
 * (applyCreation / deleteFromTree, then saveTree): parents, stored XML, the current
 * snapshot and creation order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureXmlParser } from '../../../../src/conf/xml-parse.js';
import type { SnapshotDef } from '../../../../src/conf/snapshot-types.js';
import {
  hasStoredSnapshot, loadStoredSnapshot, loadTree, removeStoredSnapshot, saveTree, snapshotRecordXml, storeCreatedSnapshot,
} from '../../../../src/drivers/qemu/catalog/snapshot-catalog.js';
import { deleteFromTree } from '../../../../src/snapshot/tree-delete.js';
import { applyCreation } from '../../../../src/snapshot/tree-insert.js';
import { openStore, type Store } from '../../../../src/store/index.js';

await ensureXmlParser();

const UUID = '11111111-2222-4333-8444-555555555555';

function snapshotDef(name: string, parent: string | undefined): SnapshotDef {
  return {
    name, state: 'shutoff', creationTime: 1_700_000_000, memory: { snapshot: 'no' },
    disks: [{ name: 'vda', snapshot: 'internal' }], ...(parent === undefined ? {} : { parent }),
  };
}

/**
 * A store holding domain `vm` with snapshots r ← a ← {b ← d, c} and a second root z;
 * `current` is the current one.
 */
function storeWithTree(current: string): { store: Store; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'snapvirt-catalog-'));
  const store = openStore(dir);
  store.transaction(() => {
    store.domains.insert({ uuid: UUID, name: 'vm', persistentXml: '<domain/>', liveXml: null, persistent: true, autostart: false, runtime: null });
    for (const [name, parent] of [['r', undefined], ['a', 'r'], ['b', 'a'], ['c', 'a'], ['d', 'b'], ['z', undefined]] as const) {
      const def = snapshotDef(name, parent);
      store.snapshots.insert({ domainUuid: UUID, name, xml: snapshotRecordXml(def), parent: parent ?? null, isCurrent: name === current });
    }
  });
  return { store, dir };
}

/** Every row of the domain, as the store holds it. */
function rows(store: Store): unknown[] {
  return store.snapshots.list(UUID).map((r) => ({ name: r.name, parent: r.parent, xml: r.xml, current: r.isCurrent, order: r.creationOrder }));
}

/** The rows after `indexed` on one store and `whole` on another built alike. */
function both(current: string, indexed: (store: Store) => void, whole: (store: Store) => void): [unknown[], unknown[]] {
  const one = storeWithTree(current);
  const two = storeWithTree(current);
  try {
    one.store.transaction(() => indexed(one.store));
    two.store.transaction(() => whole(two.store));
    return [rows(one.store), rows(two.store)];
  } finally {
    for (const { store, dir } of [one, two]) {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

for (const current of ['b', 'z', 'd']) {
  test(`a new snapshot goes under the current one (${current}) and becomes current, as applyCreation and saveTree store it`, () => {
    const [indexed, whole] = both(current,
      (store) => storeCreatedSnapshot(store, UUID, snapshotDef('new', undefined)),
      (store) => {
        const tree = loadTree(store, UUID);
        applyCreation(tree, snapshotDef('new', undefined));
        saveTree(store, UUID, tree);
      });
    assert.deepEqual(indexed, whole);
    assert.ok(indexed.some((r) => (r as { name: string; parent: string }).name === 'new' && (r as { parent: string }).parent === current));
  });
}

for (const [victim, current] of [['d', 'd'], ['b', 'd'], ['a', 'a'], ['a', 'c'], ['r', 'r'], ['r', 'z'], ['z', 'z']] as const) {
  test(`deleting ${victim} alone (current: ${current}) leaves the rows deleteFromTree and saveTree leave`, () => {
    const [indexed, whole] = both(current,
      (store) => removeStoredSnapshot(store, UUID, victim),
      (store) => {
        const tree = loadTree(store, UUID);
        deleteFromTree(tree, victim, 'snapshot');
        saveTree(store, UUID, tree);
      });
    assert.deepEqual(indexed, whole);
    assert.ok(!indexed.some((r) => (r as { name: string }).name === victim));
  });
}

test('the indexed lookups: a snapshot by name (its fields parsed on first use), whether it exists', () => {
  const { store, dir } = storeWithTree('b');
  try {
    assert.equal(hasStoredSnapshot(store, UUID, 'c'), true);
    assert.equal(hasStoredSnapshot(store, UUID, 'nope'), false);
    const c = loadStoredSnapshot(store, UUID, 'c');
    assert.equal(c?.parent, 'a');
    assert.equal(c?.state, 'shutoff');
    assert.deepEqual(c?.disks, [{ name: 'vda', snapshot: 'internal' }]);
    assert.equal(loadStoredSnapshot(store, UUID, 'nope'), undefined);
    assert.throws(() => store.transaction(() => removeStoredSnapshot(store, UUID, 'nope')), /no domain snapshot with matching name 'nope'/);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
