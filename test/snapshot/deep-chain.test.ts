/**
 * A 20,000-deep chain of snapshots (a CI runner that snapshots after every job) must not
 * overflow the stack anywhere the tree is walked: bench found `--tree` and creating the
 * next snapshot crashing with RangeError on a 10,000-deep chain.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTree, type TreeEntry } from '../../src/cli/output/tree.js';
import { SnapshotTree } from '../../src/snapshot/snapshot-tree.js';

const DEPTH = 20_000;

function deepChain(): SnapshotTree {
  const tree = new SnapshotTree();
  for (let i = 0; i < DEPTH; i++) {
    tree.add({ name: `s${i}`, disks: [], ...(i > 0 ? { parent: `s${i - 1}` } : {}) });
  }
  return tree;
}

test('descendants, topological order and link order walk a deep chain without recursion', () => {
  const tree = deepChain();
  const topo = tree.topological().map((n) => n.def.name);
  assert.equal(topo.length, DEPTH);
  assert.equal(topo[0], 's0');
  assert.equal(topo[DEPTH - 1], `s${DEPTH - 1}`);
  assert.equal(tree.descendants('s1').length, DEPTH - 2);
  const order = tree.linkOrder().map((d) => d.name);
  assert.deepEqual(order, topo);
  assert.deepEqual(SnapshotTree.rebuild(tree.linkOrder()).topological().map((n) => n.def.name), topo);
});

test('the tree drawing handles a deep chain, and matches the layout virsh draws on a small one', () => {
  const depth = 3_000; // the drawing itself is quadratic in depth (indentation), as virsh's is
  const entries: TreeEntry[] = Array.from({ length: depth }, (_, i) => ({ name: `s${i}`, parent: i > 0 ? `s${i - 1}` : undefined }));
  const drawn = formatTree(entries, 0);
  const lines = drawn.split('\n');
  assert.equal(lines[0], 's0');
  assert.equal(lines[1], '  |');
  assert.equal(lines[2], '  +- s1');
  assert.ok(lines.some((l) => l.endsWith(`+- s${depth - 1}`)));

  const small: TreeEntry[] = [
    { name: 's1', parent: undefined }, { name: 's3', parent: 's1' }, { name: 's2', parent: 's3' },
    { name: 's6', parent: 's3' }, { name: 's7', parent: 's1' },
  ];
  assert.equal(formatTree(small, 0), [
    's1', '  |', '  +- s3', '  |   |', '  |   +- s2', '  |   +- s6', '  |     ', '  +- s7', '    ', '',
  ].join('\n'));
});
