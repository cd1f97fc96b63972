/** checkSnapshotTree: the metadata-only consistency check both drivers' snapshot-check run. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SnapshotDef } from '../../src/conf/snapshot-types.js';
import { SnapshotTree } from '../../src/snapshot/snapshot-tree.js';
import { checkSnapshotTree } from '../../src/snapshot/tree-check.js';

const def = (name: string, parent?: string): SnapshotDef =>
  ({ name, state: 'shutoff', disks: [], ...(parent === undefined ? {} : { parent }) });

test('a well-formed tree has no problems', () => {
  const tree = new SnapshotTree();
  tree.add(def('a'));
  tree.add(def('b', 'a'));
  tree.add(def('c', 'a'));
  tree.setCurrent('c');
  assert.deepEqual(checkSnapshotTree(tree), []);
});

test('a missing parent, a parent mismatch and a loop are each reported in plain words', () => {
  const tree = new SnapshotTree();
  tree.add(def('a'));
  tree.add(def('orphan', 'ghost'));
  tree.add(def('b', 'a'));
  // Two snapshots naming each other: linked as roots would hide the loop; link them as named.
  tree.assign(def('x', 'y'));
  tree.assign(def('y', 'x'));
  tree.linkParent('x');
  tree.linkParent('y');
  // b names a but is linked elsewhere.
  tree.get('b').def.parent = 'orphan';
  assert.deepEqual(checkSnapshotTree(tree).map((p) => p.message), [
    "snapshot 'orphan' names parent 'ghost', which does not exist; it is shown as a root",
    "snapshot 'b' names parent 'orphan' but is linked under 'a'",
    "snapshot 'x' is its own ancestor (parent loop through 'x')",
    "snapshot 'y' is its own ancestor (parent loop through 'y')",
    "snapshot 'x' cannot be reached from any root snapshot",
    "snapshot 'y' cannot be reached from any root snapshot",
  ]);
});
