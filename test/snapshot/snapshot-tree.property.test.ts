/**
 * Property tests: random sequences of create / revert / delete / redefine on a SnapshotTree,
 * checked against a plain parent-map model and against the tree invariants (one current at
 * most, acyclic, consistent links, descendant counts, topological order, filter partitions).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SnapshotListFlags as L } from '../../src/api/flags.js';
import type { SnapshotDef, SnapshotState } from '../../src/conf/snapshot-types.js';
import { listSnapshotNames } from '../../src/snapshot/list-filter.js';
import { checkMomentCycles } from '../../src/snapshot/redefine-rules.js';
import { SnapshotTree } from '../../src/snapshot/snapshot-tree.js';
import { deleteFromTree, type DeleteScope } from '../../src/snapshot/tree-delete.js';
import { applyCreation } from '../../src/snapshot/tree-insert.js';

type Op =
  | { kind: 'create'; name: string; state: SnapshotState; external: boolean }
  | { kind: 'revert'; pick: number }
  | { kind: 'delete'; pick: number; scope: DeleteScope }
  | { kind: 'reparent'; pick: number; parentPick: number };

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('create' as const),
    name: fc.constantFrom(...NAMES),
    state: fc.constantFrom<SnapshotState>('running', 'paused', 'shutoff', 'disk-snapshot'),
    external: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('revert' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat(), scope: fc.constantFrom<DeleteScope>('snapshot', 'children', 'children-only') }),
  fc.record({ kind: fc.constant('reparent' as const), pick: fc.nat(), parentPick: fc.nat() }),
);

/** The reference model: name → parent name, and the current name. */
interface Model { parent: Map<string, string | undefined>; current: string | undefined }

function modelDescendants(model: Model, name: string): string[] {
  const out: string[] = [];
  for (const [child, parent] of model.parent) if (parent === name) out.push(child, ...modelDescendants(model, child));
  return out;
}

function apply(tree: SnapshotTree, model: Model, op: Op): void {
  const existing = [...model.parent.keys()].sort();
  const pick = (n: number) => existing[n % existing.length]!;
  switch (op.kind) {
    case 'create': {
      const def: SnapshotDef = {
        name: op.name, state: op.state,
        disks: [{ name: 'vda', snapshot: op.external ? 'external' : 'internal' }],
      };
      if (model.parent.has(op.name)) {
        assert.throws(() => applyCreation(tree, def), { code: 9 });
        return;
      }
      applyCreation(tree, def);
      model.parent.set(op.name, model.current);
      model.current = op.name;
      return;
    }
    case 'revert':
      if (existing.length === 0) return;
      tree.setCurrent(pick(op.pick));
      model.current = pick(op.pick);
      return;
    case 'delete': {
      if (existing.length === 0) return;
      const name = pick(op.pick);
      const parent = model.parent.get(name);
      const descendants = modelDescendants(model, name);
      deleteFromTree(tree, name, op.scope);
      if (op.scope === 'snapshot') {
        for (const [child, p] of model.parent) if (p === name) model.parent.set(child, parent);
        model.parent.delete(name);
        if (model.current === name) model.current = parent;
      } else {
        const currentGone = descendants.includes(model.current ?? '');
        for (const d of descendants) model.parent.delete(d);
        if (currentGone) model.current = name;
        if (op.scope === 'children') {
          model.parent.delete(name);
          if (model.current === name) model.current = parent;
        }
      }
      return;
    }
    case 'reparent': {
      if (existing.length < 2) return;
      const name = pick(op.pick);
      const newParent = pick(op.parentPick);
      const node = tree.get(name);
      const redefined: SnapshotDef = { ...node.def, parent: newParent };
      const wouldCycle = newParent === name || modelDescendants(model, name).includes(newParent);
      if (wouldCycle) {
        assert.throws(() => checkMomentCycles(tree, redefined), { code: 8 });
        return;
      }
      checkMomentCycles(tree, redefined);
      tree.replaceDef(name, redefined);
      tree.linkParent(name);
      model.parent.set(name, newParent);
    }
  }
}

function checkInvariants(tree: SnapshotTree, model: Model): void {
  const all = tree.all().map((n) => n.def.name).sort();
  assert.deepEqual(all, [...model.parent.keys()].sort());
  assert.equal(tree.currentName, model.current);
  for (const node of tree.all()) {
    const parent = tree.parentOf(node.def.name);
    assert.equal(parent?.def.name, node.def.parent);
    assert.equal(node.def.parent, model.parent.get(node.def.name));
    if (parent) assert.ok(parent.children.includes(node));
    // Acyclic: the walk up ends within size steps.
    let steps = 0;
    for (let up = tree.parentOf(node.def.name); up; up = tree.parentOf(up.def.name)) assert.ok(++steps <= tree.size);
    const expectedDescendants = node.children.reduce((sum, c) => sum + 1 + tree.descendants(c.def.name).length, 0);
    assert.equal(tree.descendants(node.def.name).length, expectedDescendants);
    assert.deepEqual(tree.descendants(node.def.name).map((n) => n.def.name).sort(), modelDescendants(model, node.def.name).sort());
  }
  const topo = listSnapshotNames(tree, undefined, L.TOPOLOGICAL);
  assert.equal(new Set(topo).size, tree.size);
  assert.equal(topo.length, tree.size);
  for (const [index, name] of topo.entries()) {
    const parent = tree.get(name).def.parent;
    if (parent !== undefined) assert.ok(topo.indexOf(parent) < index, `${parent} before ${name}`);
  }
  const partition = (...flagsList: number[]) => {
    const parts = flagsList.map((f) => listSnapshotNames(tree, undefined, f));
    const union = parts.flat();
    assert.equal(union.length, tree.size);
    assert.equal(new Set(union).size, tree.size);
  };
  partition(L.LEAVES, L.NO_LEAVES);
  partition(L.INACTIVE, L.ACTIVE, L.DISK_ONLY);
  partition(L.INTERNAL, L.EXTERNAL);
  const rebuilt = SnapshotTree.rebuild(tree.linkOrder().map((d) => ({ ...d })), tree.currentName);
  assert.deepEqual(listSnapshotNames(rebuilt, undefined, L.TOPOLOGICAL), topo);
  const rootLeaves = listSnapshotNames(tree, undefined, L.ROOTS | L.LEAVES);
  const rootInner = listSnapshotNames(tree, undefined, L.ROOTS | L.NO_LEAVES);
  assert.deepEqual([...rootLeaves, ...rootInner].sort(), tree.roots().map((n) => n.def.name).sort());
  assert.deepEqual(listSnapshotNames(tree, undefined, L.ROOTS).sort(),
    [...model.parent].filter(([, p]) => p === undefined).map(([n]) => n).sort());
}

describe('snapshot tree properties', () => {
  it('random operation sequences keep the tree equal to the model and its invariants', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const tree = new SnapshotTree();
      const model: Model = { parent: new Map(), current: undefined };
      for (const op of ops) {
        apply(tree, model, op);
        if (tree.size > 0 || model.parent.size === 0) checkInvariants(tree, model);
      }
    }), { numRuns: 300 });
  });
});

describe('SnapshotTree.linkParents', () => {
  /** Every node's children, in order, and the roots: the whole shape of a tree. */
  const shape = (tree: SnapshotTree): string[] => [
    `roots: ${tree.roots().map((n) => n.def.name).join(',')}`,
    ...tree.all().map((n) => `${n.def.name}: ${n.children.map((c) => c.def.name).join(',')}`),
  ];

  it('links exactly as linkParent called on each name in the same order (sibling order included)', () => {
    fc.assert(fc.property(
      // Each snapshot names a parent among all of them (or none, or a missing one): redefinitions can point forward.
      fc.array(fc.integer({ min: -2, max: 11 }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 12 }),
      (parents, alreadyLinked) => {
        const defs = (): SnapshotDef[] => parents.map((p, i) => ({
          name: `n${i}`, disks: [], ...(p === -1 ? {} : { parent: p === -2 ? 'missing' : `n${p % parents.length}` }),
        })).filter((d) => d.parent !== d.name);
        const one = new SnapshotTree();
        const batch = new SnapshotTree();
        const names = defs().map((d) => d.name);
        for (const [tree, list] of [[one, defs()], [batch, defs()]] as const) for (const def of list) tree.assign(def);
        // Some are linked before the batch, in both trees alike.
        const before = names.slice(0, alreadyLinked);
        for (const tree of [one, batch]) for (const name of before) tree.linkParent(name);
        for (const name of names) one.linkParent(name);
        batch.linkParents(names);
        assert.deepEqual(shape(batch), shape(one));
      },
    ));
  });
});
