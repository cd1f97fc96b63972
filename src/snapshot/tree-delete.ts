/**
 * How deleting snapshots reshapes the tree and moves the current snapshot, exactly as
 * libvirt's drivers do it (testDomainSnapshotDelete, qemuSnapshotDelete's metadata part):
 *
 * - plain delete: the children move up to the deleted snapshot's parent (ahead of its
 *   siblings, libvirt's list order), and if it was current its parent becomes current;
 * - CHILDREN: the snapshot and all its descendants go; if any of them was current, the
 *   deleted snapshot's parent becomes current;
 * - CHILDREN_ONLY: only the descendants go; if one of them was current, the kept snapshot
 *   becomes current.
 */
import { SnapshotDeleteFlags } from '../api/flags.js';
import type { SnapshotTree } from './snapshot-tree.js';

/** Which part of the subtree a delete removes. */
export type DeleteScope = 'snapshot' | 'children' | 'children-only';

/** The scope virDomainSnapshotDelete's flags ask for. */
export function deleteScopeOf(flags: number): DeleteScope {
  if (flags & SnapshotDeleteFlags.CHILDREN) return 'children';
  return flags & SnapshotDeleteFlags.CHILDREN_ONLY ? 'children-only' : 'snapshot';
}

/** What a delete did: the names removed, parents before children. */
export interface TreeDeleteResult {
  removed: string[];
  /** The names of the children that were re-parented (plain delete only). */
  reparented: string[];
}

/** The names a delete of `name` with `scope` would remove, parents before children; changes nothing. */
export function namesToDelete(tree: SnapshotTree, name: string, scope: DeleteScope): string[] {
  const descendants = tree.descendants(name).map((n) => n.def.name);
  switch (scope) {
    case 'snapshot': return [name];
    case 'children': return [name, ...descendants];
    case 'children-only': return descendants;
  }
}

/** Deletes `name` (and, per `scope`, its descendants) from `tree`, moving current as libvirt does. */
export function deleteFromTree(tree: SnapshotTree, name: string, scope: DeleteScope): TreeDeleteResult {
  const snap = tree.get(name);
  const removed: string[] = [];
  const reparented: string[] = [];

  if (scope !== 'snapshot') {
    let descendantWasCurrent = false;
    for (const node of tree.descendants(name)) {
      descendantWasCurrent = tree.remove(node.def.name) || descendantWasCurrent;
      removed.push(node.def.name);
    }
    if (descendantWasCurrent) tree.setCurrent(name);
    snap.children = [];
  } else if (snap.children.length > 0) {
    const parent = tree.parentOf(name);
    for (const child of snap.children) {
      child.def.parent = parent?.def.name;
      reparented.push(child.def.name);
    }
    tree.moveChildren(snap, parent);
  }

  if (scope !== 'children-only') {
    const parentName = snap.def.parent;
    tree.dropParent(snap);
    if (tree.current === snap) {
      tree.setCurrent(parentName !== undefined && tree.has(parentName) ? parentName : undefined);
    }
    tree.remove(name);
    removed.unshift(name);
  }
  return { removed, reparented };
}
