/**
 * Snapshot listing with libvirt's exact filter semantics (virDomainSnapshotObjListGetNames,
 * virDomainMomentObjListGetNames, virDomainSnapshotFilter), quirks included:
 *
 * - LEAVES|NO_LEAVES gives nothing: the leaf bits are applied one by one, the "whole group
 *   set means no filter" shortcut never sees them;
 * - METADATA|NO_METADATA, INTERNAL|EXTERNAL and INACTIVE|ACTIVE|DISK_ONLY give everything;
 * - NO_METADATA alone gives nothing (every snapshot the tree knows has metadata);
 * - INACTIVE is state shutoff, DISK_ONLY is disk-snapshot, ACTIVE is any other state;
 * - INTERNAL/EXTERNAL look at where the memory and disks are saved.
 */
import { SnapshotListFlags as L } from '../api/flags.js';
import type { SnapshotDef } from '../conf/snapshot-types.js';
import type { SnapshotNode, SnapshotTree } from './snapshot-tree.js';

/** Every list flag a driver accepts for listAll (ROOTS) or listAllChildren (DESCENDANTS). */
export const SNAPSHOT_LIST_FLAGS_ALL =
  L.ROOTS | L.METADATA | L.NO_METADATA | L.LEAVES | L.NO_LEAVES | L.INACTIVE | L.ACTIVE |
  L.DISK_ONLY | L.INTERNAL | L.EXTERNAL | L.TOPOLOGICAL;

const FILTERS_STATUS = L.INACTIVE | L.ACTIVE | L.DISK_ONLY;
const FILTERS_LOCATION = L.INTERNAL | L.EXTERNAL;

/** True when the snapshot saved memory or any disk externally (virDomainSnapshotDefIsExternal). */
export function isExternalSnapshot(def: SnapshotDef): boolean {
  if (def.memory?.snapshot === 'external') return true;
  return def.disks.some((disk) => disk.snapshot === 'external');
}

/** Whether `def` passes the status and location filters in `flags` (virDomainSnapshotFilter). */
function passesFilter(def: SnapshotDef, flags: number): boolean {
  if (flags & FILTERS_STATUS) {
    if (!(flags & L.INACTIVE) && def.state === 'shutoff') return false;
    if (!(flags & L.DISK_ONLY) && def.state === 'disk-snapshot') return false;
    if (!(flags & L.ACTIVE) && def.state !== 'shutoff' && def.state !== 'disk-snapshot') return false;
  }
  if ((flags & L.INTERNAL) && isExternalSnapshot(def)) return false;
  if ((flags & L.EXTERNAL) && !isExternalSnapshot(def)) return false;
  return true;
}

/**
 * Names of the snapshots matching `flags`: from the whole tree when `from` is undefined
 * (ROOTS restricts to roots), else from the children of `from` (DESCENDANTS widens to all
 * descendants). Order: parents before children, libvirt's sibling order; that is libvirt's
 * TOPOLOGICAL order, and a valid answer for libvirt's unspecified order otherwise.
 */
export function listSnapshotNames(tree: SnapshotTree, from: string | undefined, flags: number): string[] {
  return listSnapshotNodes(tree, from, flags).map((node) => node.def.name);
}

/** As listSnapshotNames, returning the nodes. */
export function listSnapshotNodes(tree: SnapshotTree, from: string | undefined, flags: number): SnapshotNode[] {
  // ROOTS and DESCENDANTS share a bit with opposite meanings; over the whole tree, "not
  // ROOTS" is "all descendants of the metaroot".
  const descendants = from === undefined ? (flags & L.ROOTS) === 0 : (flags & L.DESCENDANTS) !== 0;
  const leaves = flags & L.LEAVES;
  const noLeaves = flags & L.NO_LEAVES;
  const metadata = flags & (L.METADATA | L.NO_METADATA);
  if (metadata === L.NO_METADATA) return [];

  let filterFlags = flags & (FILTERS_STATUS | FILTERS_LOCATION);
  if ((filterFlags & FILTERS_STATUS) === FILTERS_STATUS) filterFlags &= ~FILTERS_STATUS;
  if ((filterFlags & FILTERS_LOCATION) === FILTERS_LOCATION) filterFlags &= ~FILTERS_LOCATION;

  const candidates = descendants ? tree.descendants(from) : tree.children(from);
  return candidates.filter((node) => {
    if (leaves && node.children.length > 0) return false;
    if (noLeaves && node.children.length === 0) return false;
    return passesFilter(node.def, filterFlags);
  });
}
