/**
 * Consistency of a snapshot tree's metadata on its own (no disks): every named parent
 * exists and is the one the snapshot is linked under, no snapshot is its own ancestor,
 * every snapshot is reachable from the roots, and the current snapshot is one of them.
 * The store enforces most of this for the QEMU driver; the test driver's node files and
 * redefinitions are where it can go wrong. Pure: used by both drivers' snapshot-check.
 */
import type { SnapshotTree } from './snapshot-tree.js';

/** One problem in the tree, in plain words. */
export interface TreeProblem {
  /** The snapshot it is about. */
  snapshot: string;
  message: string;
}

/** Every problem of `tree`'s metadata, in the tree's insertion order. */
export function checkSnapshotTree(tree: SnapshotTree): TreeProblem[] {
  const out: TreeProblem[] = [];
  const nodes = tree.all();
  for (const node of nodes) {
    const name = node.def.name;
    const named = node.def.parent;
    const linked = tree.parentOf(name)?.def.name;
    if (named !== undefined && !tree.has(named)) {
      out.push({ snapshot: name, message: `snapshot '${name}' names parent '${named}', which does not exist; it is shown as a root` });
    } else if (named !== linked) {
      out.push({ snapshot: name, message: `snapshot '${name}' names parent '${named ?? '(none)'}' but is linked under '${linked ?? '(none)'}'` });
    }
    // Walk the named parents: a loop would make listing and deletion run forever.
    const seen = new Set<string>([name]);
    for (let p = named; p !== undefined && tree.has(p); p = tree.get(p).def.parent) {
      if (seen.has(p)) {
        out.push({ snapshot: name, message: `snapshot '${name}' is its own ancestor (parent loop through '${p}')` });
        break;
      }
      seen.add(p);
    }
  }
  const reachable = new Set(tree.topological().map((n) => n.def.name));
  for (const node of nodes) {
    if (!reachable.has(node.def.name)) {
      out.push({ snapshot: node.def.name, message: `snapshot '${node.def.name}' cannot be reached from any root snapshot` });
    }
  }
  const current = tree.current;
  if (current && tree.find(current.def.name) !== current) {
    out.push({ snapshot: current.def.name, message: `the current snapshot '${current.def.name}' is not in the snapshot list` });
  }
  return out;
}
