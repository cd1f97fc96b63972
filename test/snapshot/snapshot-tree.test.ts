/** The pure snapshot tree: links, libvirt's child order, deletes and current moves, list filters, redefine rules. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SnapshotCreateFlags as C, SnapshotListFlags as L } from '../../src/api/flags.js';
import type { SnapshotDef, SnapshotState } from '../../src/conf/snapshot-types.js';
import { isExternalSnapshot, listSnapshotNames } from '../../src/snapshot/list-filter.js';
import { checkMomentCycles, planRedefinition, validateRedefinition } from '../../src/snapshot/redefine-rules.js';
import { SnapshotTree } from '../../src/snapshot/snapshot-tree.js';
import { deleteFromTree, namesToDelete } from '../../src/snapshot/tree-delete.js';
import { applyCreation, applyRedefinition } from '../../src/snapshot/tree-insert.js';

const def = (name: string, state: SnapshotState = 'running', extra: Partial<SnapshotDef> = {}): SnapshotDef =>
  ({ name, state, disks: [{ name: 'vda', snapshot: 'internal' }], ...extra });

/** The s1..s8 tree, built the way create and revert build it. */
function standard(): SnapshotTree {
  const tree = new SnapshotTree();
  const create = (n: string) => applyCreation(tree, def(n));
  create('s1'); create('s3'); create('s2');
  tree.setCurrent('s3'); create('s6'); create('s5');
  tree.setCurrent('s6'); create('s4');
  tree.setCurrent('s1'); create('s7'); create('s8');
  return tree;
}
const topo = (tree: SnapshotTree) => listSnapshotNames(tree, undefined, L.TOPOLOGICAL);

describe('SnapshotTree', () => {
  it('orders children most recent first, like libvirt', () => {
    const tree = standard();
    assert.deepEqual(topo(tree), ['s1', 's7', 's8', 's3', 's6', 's4', 's5', 's2']);
    assert.deepEqual(tree.children('s3').map((n) => n.def.name), ['s6', 's2']);
    assert.equal(tree.currentName, 's8');
    assert.equal(tree.parentOf('s1'), null);
    assert.equal(tree.parentOf('s4')?.def.name, 's6');
  });

  it('plain delete moves children ahead of the siblings and keeps def.parent in sync', () => {
    const tree = standard();
    const result = deleteFromTree(tree, 's3', 'snapshot');
    assert.deepEqual(result, { removed: ['s3'], reparented: ['s6', 's2'] });
    assert.deepEqual(topo(tree), ['s1', 's6', 's4', 's5', 's2', 's7', 's8']);
    assert.equal(tree.find('s6')?.def.parent, 's1');
  });

  it('deleting a root makes its children roots without a parent name', () => {
    const tree = standard();
    tree.setCurrent('s1');
    deleteFromTree(tree, 's1', 'snapshot');
    assert.deepEqual(tree.roots().map((n) => n.def.name), ['s7', 's3']);
    assert.equal(tree.find('s7')?.def.parent, undefined);
    assert.equal(tree.current, null);
  });

  it('children and children-only deletes move current as libvirt does', () => {
    const a = standard();
    a.setCurrent('s5');
    assert.deepEqual(namesToDelete(a, 's3', 'children'), ['s3', 's6', 's4', 's5', 's2']);
    assert.deepEqual(deleteFromTree(a, 's3', 'children').removed, ['s3', 's6', 's4', 's5', 's2']);
    assert.equal(a.currentName, 's1');
    const b = standard();
    b.setCurrent('s5');
    deleteFromTree(b, 's3', 'children-only');
    assert.equal(b.currentName, 's3');
    assert.deepEqual(b.children('s3'), []);
    const c = standard();
    deleteFromTree(c, 's3', 'children-only');
    assert.equal(c.currentName, 's8');
  });

  it('rebuilds an identical tree, sibling order included, from linkOrder()', () => {
    const tree = standard();
    const copy = SnapshotTree.rebuild(tree.linkOrder().map((d) => ({ ...d })), tree.currentName);
    assert.deepEqual(topo(copy), topo(tree));
    assert.deepEqual(copy.children('s1').map((n) => n.def.name), ['s7', 's3']);
    assert.equal(copy.currentName, 's8');
  });

  it('refuses duplicates with libvirt\'s error', () => {
    const tree = standard();
    assert.throws(() => applyCreation(tree, def('s1')), { code: 9, domain: 20, message: 'operation failed: domain moment s1 already exists' });
    assert.equal(tree.size, 8);
  });
});

describe('list filters', () => {
  function mixed(): SnapshotTree {
    const tree = new SnapshotTree();
    applyCreation(tree, def('on'));
    applyCreation(tree, def('off', 'shutoff', { memory: { snapshot: 'no' } }));
    applyCreation(tree, def('disk', 'disk-snapshot', { disks: [{ name: 'vda', snapshot: 'external', sourcePath: '/x.disk' }] }));
    applyCreation(tree, def('mem', 'paused', { memory: { snapshot: 'external', file: '/m' } }));
    return tree;
  }
  const sortedNames = (tree: SnapshotTree, flags: number) => listSnapshotNames(tree, undefined, flags).sort();

  it('filters by state groups, OR within a group', () => {
    const tree = mixed();
    assert.deepEqual(sortedNames(tree, L.INACTIVE), ['off']);
    assert.deepEqual(sortedNames(tree, L.DISK_ONLY), ['disk']);
    assert.deepEqual(sortedNames(tree, L.ACTIVE), ['mem', 'on']);
    assert.deepEqual(sortedNames(tree, L.ACTIVE | L.INACTIVE), ['mem', 'off', 'on']);
    assert.deepEqual(sortedNames(tree, L.ACTIVE | L.INACTIVE | L.DISK_ONLY).length, 4);
  });

  it('filters by location and keeps libvirt\'s group quirks', () => {
    const tree = mixed();
    assert.deepEqual(sortedNames(tree, L.EXTERNAL), ['disk', 'mem']);
    assert.deepEqual(sortedNames(tree, L.INTERNAL), ['off', 'on']);
    assert.equal(sortedNames(tree, L.INTERNAL | L.EXTERNAL).length, 4);
    assert.deepEqual(sortedNames(tree, L.LEAVES | L.NO_LEAVES), []);
    assert.deepEqual(sortedNames(tree, L.NO_METADATA), []);
    assert.equal(sortedNames(tree, L.METADATA).length, 4);
    assert.deepEqual(sortedNames(tree, L.LEAVES | L.EXTERNAL), ['mem']);
    assert.equal(isExternalSnapshot(tree.get('mem').def), true);
  });

  it('lists children or descendants of a snapshot', () => {
    const tree = standard();
    assert.deepEqual(listSnapshotNames(tree, 's1', 0), ['s7', 's3']);
    assert.deepEqual(listSnapshotNames(tree, 's1', L.DESCENDANTS), ['s7', 's8', 's3', 's6', 's4', 's5', 's2']);
    assert.deepEqual(listSnapshotNames(tree, 's1', L.DESCENDANTS | L.LEAVES).sort(), ['s2', 's4', 's5', 's8']);
    assert.deepEqual(listSnapshotNames(tree, undefined, L.ROOTS), ['s1']);
  });
});

describe('redefine rules', () => {
  it('reports missing parents, self parents and the ancestor that closes a cycle', () => {
    const tree = standard();
    assert.throws(() => checkMomentCycles(tree, def('x', 'running', { parent: 'nope' })),
      { code: 8, domain: 20, message: 'invalid argument: parent nope for moment x not found' });
    assert.throws(() => checkMomentCycles(tree, def('s3', 'running', { parent: 's3' })),
      { message: 'invalid argument: cannot set moment s3 as its own parent' });
    assert.throws(() => checkMomentCycles(tree, def('s1', 'running', { parent: 's4' })),
      { message: 'invalid argument: parent s3 would create cycle to s1' });
    checkMomentCycles(tree, def('s4', 'running', { parent: 's2' }));
  });

  it('validates state changes, disk-only and uuid', () => {
    const uuid = '6695eb01-f6a4-8304-79aa-97f2502e193f';
    assert.throws(() => validateRedefinition(def('a', 'running'), uuid, undefined, C.DISK_ONLY),
      { code: 8, domain: 35, message: 'invalid argument: disk-only flag for snapshot a requires disk-snapshot state' });
    assert.throws(() => validateRedefinition(def('a', 'shutoff'), uuid, def('a', 'disk-snapshot'), 0),
      { message: 'invalid argument: cannot change between disk only and full system in snapshot a' });
    assert.throws(() => validateRedefinition(def('a', 'paused'), uuid, def('a', 'shutoff'), 0),
      { message: 'invalid argument: cannot change between online and offline snapshot state in snapshot a' });
    validateRedefinition(def('a', 'paused'), uuid, def('a', 'running'), 0);
  });

  it('re-links a redefined snapshot under its new parent and keeps its children', () => {
    const tree = standard();
    const domain = { uuid: 'u' } as unknown as NonNullable<SnapshotDef['domain']>;
    tree.get('s3').def.domain = domain;
    const redefined = def('s3', 'running', { parent: 's7' });
    const plan = planRedefinition(tree, redefined, 'u', 0);
    assert.equal(plan.existing?.def.name, 's3');
    assert.equal(plan.alignDomain, domain);
    applyRedefinition(tree, redefined, plan, true);
    assert.deepEqual(topo(tree), ['s1', 's7', 's3', 's6', 's4', 's5', 's2', 's8']);
    assert.equal(tree.get('s3').def.domain, domain);
    assert.equal(tree.currentName, 's3');
    assert.throws(() => planRedefinition(tree, def('new'), 'u', 0), { code: 1, message: 'internal error: missing domain in snapshot' });
  });
});
