/**
 * The rules libvirt applies to VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE before it touches the
 * tree (virDomainMomentCheckCycles, virDomainSnapshotRedefineValidate,
 * virDomainSnapshotRedefinePrep), with libvirt's messages, codes and error domains.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import { SnapshotCreateFlags as C } from '../api/flags.js';
import type { SnapshotDef, SnapshotState } from '../conf/snapshot-types.js';
import type { SnapshotNode, SnapshotTree } from './snapshot-tree.js';

/**
 * Refuses a parent that is the snapshot itself, is missing, or whose ancestry already
 * leads back to the snapshot. The cycle message names the ancestor whose parent is the
 * snapshot, as libvirt's walk does (not necessarily the requested parent).
 */
export function checkMomentCycles(tree: SnapshotTree, def: SnapshotDef): void {
  if (def.parent === undefined) return;
  if (def.parent === def.name) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN, `cannot set moment ${def.name} as its own parent`);
  }
  let other = tree.find(def.parent);
  if (!other) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN, `parent ${def.parent} for moment ${def.name} not found`);
  }
  const seen = new Set<string>();
  while (other && other.def.parent !== undefined && !seen.has(other.def.name)) {
    seen.add(other.def.name);
    if (other.def.parent === def.name) {
      throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN, `parent ${other.def.name} would create cycle to ${def.name}`);
    }
    other = tree.find(other.def.parent);
  }
}

/** True for the states of a snapshot taken while the guest was running (memory included). */
export function isOnlineState(state: SnapshotState | undefined): boolean {
  return state === 'running' || state === 'paused';
}

/**
 * Checks a redefinition against the domain and against the snapshot it replaces, if any
 * (virDomainSnapshotRedefineValidate): DISK_ONLY needs disk-snapshot state, the stored
 * domain must have the domain's UUID, and an existing snapshot may not switch between
 * online and offline nor between disk-only and full system.
 */
export function validateRedefinition(def: SnapshotDef, domainUuid: string, existing: SnapshotDef | undefined, flags: number): void {
  if ((flags & C.DISK_ONLY) && def.state !== 'disk-snapshot') {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT,
      `disk-only flag for snapshot ${def.name} requires disk-snapshot state`);
  }
  if (def.domain && def.domain.uuid.toLowerCase() !== domainUuid.toLowerCase()) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT,
      `definition for snapshot ${def.name} must use uuid ${domainUuid}`);
  }
  if (!existing) return;
  if (isOnlineState(existing.state) !== isOnlineState(def.state)) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT,
      `cannot change between online and offline snapshot state in snapshot ${def.name}`);
  }
  if ((existing.state === 'disk-snapshot') !== (def.state === 'disk-snapshot')) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT,
      `cannot change between disk only and full system in snapshot ${def.name}`);
  }
}

/** What a redefinition will do, decided before anything changes. */
export interface RedefinePlan {
  /** The snapshot being redefined, when the name already exists. */
  existing: SnapshotNode | undefined;
  /** The domain definition to align the disks against: the new one, else the replaced snapshot's. */
  alignDomain: SnapshotDef['domain'];
  /** Where unspecified disks default to: external for disk-snapshot state or external snapshots. */
  defaultDiskMode: 'internal' | 'external';
}

/**
 * Runs every redefine check (cycles, validation, a domain to align against) and returns the
 * plan; throws libvirt's error and changes nothing when a check fails
 * (virDomainSnapshotRedefinePrep). A new name without `<domain>` is "missing domain in snapshot".
 */
export function planRedefinition(tree: SnapshotTree, def: SnapshotDef, domainUuid: string, flags: number): RedefinePlan {
  checkMomentCycles(tree, def);
  const existing = tree.find(def.name);
  validateRedefinition(def, domainUuid, existing?.def, flags);
  const alignDomain = def.domain ?? existing?.def.domain;
  if (!alignDomain) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.DOMAIN_SNAPSHOT, 'missing domain in snapshot');
  }
  const external = def.state === 'disk-snapshot' || def.memory?.snapshot === 'external' ||
    def.disks.some((d) => d.snapshot === 'external');
  return { existing, alignDomain, defaultDiskMode: external ? 'external' : 'internal' };
}
