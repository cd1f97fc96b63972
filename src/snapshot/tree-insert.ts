/**
 * Inserting snapshots into the tree the way libvirt's drivers do after every check passed:
 * a new snapshot hangs under the current one and becomes current; a redefinition replaces
 * or adds a definition under the parent its XML names.
 */
import type { SnapshotDef } from '../conf/snapshot-types.js';
import type { RedefinePlan } from './redefine-rules.js';
import type { SnapshotNode, SnapshotTree } from './snapshot-tree.js';

/**
 * Puts a checked redefinition into the tree: replaces the existing snapshot's definition
 * (keeping its children and, when the new XML has none, its `<domain>`) or adds a new one,
 * links it under its parent, and makes it current when `makeCurrent` (CREATE_CURRENT).
 */
export function applyRedefinition(tree: SnapshotTree, def: SnapshotDef, plan: RedefinePlan, makeCurrent: boolean): SnapshotNode {
  const node = plan.existing ? tree.replaceDef(def.name, def) : tree.assign(def);
  tree.linkParent(def.name);
  if (makeCurrent) tree.setCurrent(def.name);
  return node;
}

/**
 * Puts a newly created snapshot into the tree: its parent is the current snapshot, it
 * becomes current unless `makeCurrent` is false (NO_METADATA callers skip the tree entirely).
 * A duplicate name is "operation failed: domain moment X already exists".
 */
export function applyCreation(tree: SnapshotTree, def: SnapshotDef, makeCurrent = true): SnapshotNode {
  def.parent = tree.currentName;
  const node = tree.assign(def);
  tree.linkParent(def.name);
  if (makeCurrent) tree.setCurrent(def.name);
  return node;
}
