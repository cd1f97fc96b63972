/**
 * The snapshot tree of one domain, as libvirt's virDomainMomentObjList: snapshots by name,
 * parent/children links, and the current snapshot. Pure data, no I/O; shared by drivers.
 *
 * Children are kept in libvirt's linked-list order: a newly linked child becomes the first
 * child (virDomainMomentSetParent prepends). Every ordered answer libvirt gives (topological
 * listing, children listing, descendant walks) follows that order, so we keep it exactly.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import type { SnapshotDef } from '../conf/snapshot-types.js';

/** libvirt's error for a snapshot name a domain does not have. */
export function noSnapshotWithName(name: string, errorDomain: VirErrorDomain = VirErrorDomain.DOMAIN_SNAPSHOT): Error {
  return virError(VirErrorCode.NO_DOMAIN_SNAPSHOT, errorDomain, `no domain snapshot with matching name '${name}'`);
}

/** One snapshot in the tree: its definition plus its links. */
export interface SnapshotNode {
  def: SnapshotDef;
  /** The parent node; the tree's invisible metaroot for a root snapshot. */
  parent: SnapshotNode | null;
  /** Children, first child first (most recently linked first). */
  children: SnapshotNode[];
}

/** A snapshot tree (virDomainMomentObjList). */
export class SnapshotTree {
  /** Insertion-ordered map: stands in for libvirt's hash table, whose order is unspecified. */
  private readonly byName = new Map<string, SnapshotNode>();
  /** The special parent of every root snapshot; its def is never looked at. */
  private readonly metaroot: SnapshotNode = { def: { name: '', disks: [] }, parent: null, children: [] };
  private currentNode: SnapshotNode | null = null;

  /** Number of snapshots. */
  get size(): number { return this.byName.size; }

  /** The node called `name`, or undefined. */
  find(name: string): SnapshotNode | undefined { return this.byName.get(name); }

  /** The node called `name`, or libvirt's "no domain snapshot with matching name" error. */
  get(name: string, errorDomain: VirErrorDomain = VirErrorDomain.DOMAIN_SNAPSHOT): SnapshotNode {
    const node = this.byName.get(name);
    if (!node) throw noSnapshotWithName(name, errorDomain);
    return node;
  }

  /** True when a snapshot called `name` exists. */
  has(name: string): boolean { return this.byName.has(name); }

  /** Every node, in insertion order (libvirt: unspecified hash order). */
  all(): SnapshotNode[] { return [...this.byName.values()]; }

  /** The current snapshot's node, or null. */
  get current(): SnapshotNode | null { return this.currentNode; }

  /** The current snapshot's name, or undefined. */
  get currentName(): string | undefined { return this.currentNode?.def.name; }

  /** Makes `name` (or nothing, for undefined) the current snapshot. */
  setCurrent(name: string | undefined): void {
    this.currentNode = name === undefined ? null : this.get(name);
  }

  /**
   * Adds `def` without linking it to its parent (virDomainMomentAssignDef); call
   * linkParent afterwards. A duplicate name is libvirt's OPERATION_FAILED error.
   */
  assign(def: SnapshotDef): SnapshotNode {
    if (this.byName.has(def.name)) {
      throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN, `domain moment ${def.name} already exists`);
    }
    const node: SnapshotNode = { def, parent: null, children: [] };
    this.byName.set(def.name, node);
    return node;
  }

  /**
   * Links `name` under the snapshot named by its def.parent, as its first child
   * (virDomainMomentLinkParent). A missing parent makes it a root, as libvirt does.
   */
  linkParent(name: string): void {
    const node = this.get(name);
    if (node.parent) this.dropParent(node);
    const parentName = node.def.parent;
    const parent = parentName === undefined ? undefined : this.byName.get(parentName);
    this.setParent(node, parent ?? this.metaroot);
  }

  /**
   * Links each of `names` (distinct) under its parent: the same tree as calling linkParent
   * on them in this order, so the last linked is the first child. Linear: prepending to a
   * parent's children one at a time is quadratic in the number of siblings (10,000
   * snapshots taken from one base), so each parent's new children are gathered last
   * first and put in front of its existing ones at once.
   */
  linkParents(names: readonly string[]): void {
    const gathered = new Map<SnapshotNode, SnapshotNode[]>();
    for (let i = names.length - 1; i >= 0; i--) {
      const node = this.get(names[i]!);
      if (node.parent) this.dropParent(node);
      const parentName = node.def.parent;
      const parent = (parentName === undefined ? undefined : this.byName.get(parentName)) ?? this.metaroot;
      node.parent = parent;
      const siblings = gathered.get(parent);
      if (siblings) siblings.push(node);
      else gathered.set(parent, [node]);
    }
    for (const [parent, children] of gathered) {
      parent.children = parent.children.length === 0 ? children : [...children, ...parent.children];
    }
  }

  /** Adds `def` and links it to its parent: assign + linkParent. */
  add(def: SnapshotDef): SnapshotNode {
    const node = this.assign(def);
    this.linkParent(def.name);
    return node;
  }

  /**
   * Replaces the definition of an existing snapshot, keeping its children
   * (virDomainSnapshotReplaceDef): the old `<domain>` is kept when the new one has none,
   * and the node is unlinked from its parent until linkParent is called.
   */
  replaceDef(name: string, def: SnapshotDef): SnapshotNode {
    const node = this.get(name);
    if (!def.domain && !def.domainUuidOnly && node.def.domain) def.domain = node.def.domain;
    if (node.parent) this.dropParent(node);
    node.def = def;
    return node;
  }

  /** The parent snapshot's node, or null for a root. */
  parentOf(name: string): SnapshotNode | null {
    const parent = this.get(name).parent;
    return parent === this.metaroot ? null : parent;
  }

  /** Direct children of `name` (or the roots, for undefined), first child first. */
  children(name: string | undefined): SnapshotNode[] {
    return [...(name === undefined ? this.metaroot : this.get(name)).children];
  }

  /** Root snapshots, in libvirt's order (most recently linked first). */
  roots(): SnapshotNode[] { return [...this.metaroot.children]; }

  /**
   * All descendants of `name` (or every snapshot, for undefined), parents before children,
   * in libvirt's order (virDomainMomentForEachDescendant: depth first, first child first).
   */
  descendants(name: string | undefined): SnapshotNode[] {
    // Pre-order with an explicit stack: a chain can be tens of thousands deep.
    const out: SnapshotNode[] = [];
    const start = name === undefined ? this.metaroot : this.get(name);
    const stack = [...start.children].reverse();
    for (let node = stack.pop(); node; node = stack.pop()) {
      out.push(node);
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
    }
    return out;
  }

  /** Every snapshot, parents before children: libvirt's LIST_TOPOLOGICAL order. */
  topological(): SnapshotNode[] { return this.descendants(undefined); }

  /**
   * Every definition, parents before children and each sibling group last child first: the
   * order in which rebuild() re-creates this exact tree, sibling order included. Use it to
   * persist a tree.
   */
  linkOrder(): SnapshotDef[] {
    // Pre-order, last child first, with an explicit stack (no recursion on deep chains).
    const out: SnapshotDef[] = [];
    const stack = [...this.metaroot.children];
    for (let node = stack.pop(); node; node = stack.pop()) {
      out.push(node.def);
      stack.push(...node.children);
    }
    return out;
  }

  /**
   * Builds a tree from definitions given parents first (as linkOrder() returns them), each
   * linked under its def.parent; `current` names the current snapshot. A def whose parent
   * is missing becomes a root, as libvirt does with inconsistent metadata.
   */
  static rebuild(defs: Iterable<SnapshotDef>, current?: string): SnapshotTree {
    const tree = new SnapshotTree();
    for (const def of defs) tree.add(def);
    if (current !== undefined && tree.has(current)) tree.setCurrent(current);
    return tree;
  }

  /** True when `name` has no children. */
  isLeaf(name: string): boolean { return this.get(name).children.length === 0; }

  /**
   * Removes `name` from the name table (virDomainMomentObjListRemove) and clears current
   * if it was current. Links are left to the caller, as in libvirt. Returns whether it
   * was current.
   */
  remove(name: string): boolean {
    const node = this.get(name);
    const wasCurrent = this.currentNode === node;
    this.byName.delete(name);
    if (wasCurrent) this.currentNode = null;
    return wasCurrent;
  }

  /** Removes every snapshot (virDomainMomentObjListRemoveAll). */
  clear(): void {
    this.byName.clear();
    this.metaroot.children = [];
    this.currentNode = null;
  }

  /** @internal Unlinks `node` from its parent's children (virDomainMomentDropParent). */
  dropParent(node: SnapshotNode): void {
    const parent = node.parent;
    if (!parent) return;
    const index = parent.children.indexOf(node);
    if (index >= 0) parent.children.splice(index, 1);
    node.parent = null;
  }

  /** @internal Makes every child of `from` a child of `to`, ahead of `to`'s own (virDomainMomentMoveChildren). */
  moveChildren(from: SnapshotNode, to: SnapshotNode | null): void {
    const target = to ?? this.metaroot;
    for (const child of from.children) child.parent = target;
    target.children = [...from.children, ...target.children];
    from.children = [];
  }

  /** @internal The node standing for "no parent": roots hang under it. */
  get rootParent(): SnapshotNode { return this.metaroot; }

  private setParent(node: SnapshotNode, parent: SnapshotNode): void {
    node.parent = parent;
    parent.children.unshift(node);
  }
}
