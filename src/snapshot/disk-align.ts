/**
 * libvirt's virDomainSnapshotAlignDisks (src/conf/snapshot_conf.c, 9.0): resolves the
 * disks a snapshot names against the domain's disks, checks them, fills in every domain
 * disk in domain order, and generates default overlay names. Pure: filesystem facts come
 * from the caller's `isRegularFile` callback.
 */
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import type { DiskSnapshotMode, DomainDef, DomainDiskDef } from '../conf/domain-types.js';
import type { SnapshotDef, SnapshotDiskDef } from '../conf/snapshot-types.js';
import { attrValue, childElement } from '../conf/xml-tree.js';

/** How alignment fills in and checks disks. */
export interface AlignDisksOptions {
  /** The mode for disks the XML does not mention (libvirt's default_snapshot). */
  defaultMode: 'internal' | 'external';
  /** Every requested disk must use `defaultMode` (libvirt's require_match: qemu internal, test driver). */
  uniformInternal: boolean;
  /**
   * Filesystem fact supplied by the caller: is `path` an existing regular file? libvirt
   * generates a default overlay name only next to one.
   */
  isRegularFile: (path: string) => boolean;
}

function unsupported(detail: string): Error {
  return virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.DOMAIN_SNAPSHOT, detail);
}

/**
 * virDomainDiskIndexByName: a name without a leading '/' is a target (vda); otherwise it
 * is a source path, which must match exactly one disk.
 */
export function findDomainDisk(domain: DomainDef, name: string): DomainDiskDef | undefined {
  if (!name.startsWith('/')) return domain.disks.find((disk) => disk.target === name);
  const matches = domain.disks.filter((disk) => disk.sourcePath === name);
  return matches.length === 1 ? matches[0] : undefined;
}

/** A drive with no medium (an empty cdrom or floppy) has nothing to snapshot. */
function isEmptyDrive(disk: DomainDiskDef): boolean {
  return disk.sourcePath === undefined && disk.type !== 'network' && disk.type !== 'volume' && disk.type !== 'nvme'
    && disk.type !== 'vhostuser';
}

/**
 * The mode a domain disk declares for snapshots: its `snapshot=` attribute, else 'no' for a
 * read-only disk (libvirt's disk parser gives read-only disks, cdroms included, mode 'no').
 */
export function declaredSnapshotMode(disk: DomainDiskDef): DiskSnapshotMode | undefined {
  return disk.snapshot ?? (disk.readonly ? 'no' : undefined);
}

/**
 * Resolves, checks and completes `def.disks` against `domain`'s disks, in place. A disk the
 * snapshot lists without a mode takes the domain's declared mode (always when that is 'no';
 * otherwise only when modes need not match the default), an unlisted disk takes its declared
 * mode or the default, and an empty drive is never snapshotted.
 */
export function alignSnapshotDisks(def: SnapshotDef, domain: DomainDef, opts: AlignDisksOptions): void {
  if (def.disks.length > domain.disks.length) throw unsupported('too many disk snapshot requests for domain');
  if (domain.disks.length === 0) return;
  const defaultMode: DiskSnapshotMode = opts.defaultMode;
  // Only an internal default forces every listed disk onto it (hypervisors whose internal
  // snapshots cannot leave a disk out); an external default lets each disk choose.
  const requireMatch = opts.uniformInternal && defaultMode === 'internal';
  const requested = new Map<string, SnapshotDiskDef>();

  for (const snapDisk of def.disks) {
    const domDisk = findDomainDisk(domain, snapDisk.name);
    if (!domDisk) throw unsupported(`no disk named '${snapDisk.name}'`);
    if (requested.has(domDisk.target)) throw unsupported(`disk '${snapDisk.name}' specified twice`);
    requested.set(domDisk.target, snapDisk);
    const declared = declaredSnapshotMode(domDisk);

    if (snapDisk.snapshot === undefined) {
      snapDisk.snapshot = declared !== undefined && (!requireMatch || declared === 'no') ? declared : defaultMode;
    } else if (requireMatch && snapDisk.snapshot !== defaultMode && !(snapDisk.snapshot === 'no' && declared === 'no')) {
      throw unsupported(`disk '${snapDisk.name}' must use snapshot mode '${defaultMode}'`);
    }

    if (snapDisk.sourcePath !== undefined && snapDisk.snapshot !== 'external') {
      throw unsupported(`file '${snapDisk.sourcePath}' for disk '${snapDisk.name}' requires use of external snapshot mode`);
    }
    snapDisk.name = domDisk.target;
  }

  def.disks = domain.disks.map((domDisk): SnapshotDiskDef => {
    const existing = requested.get(domDisk.target);
    if (existing) return existing;
    const mode = isEmptyDrive(domDisk) ? 'no' : (declaredSnapshotMode(domDisk) ?? defaultMode);
    return { name: domDisk.target, snapshot: mode, type: 'file' };
  });

  assignExternalNames(def, domain, opts);
}

/** virDomainDiskGetSource: a local disk's path, or a network disk's source name. */
function domainDiskSource(disk: DomainDiskDef): string | undefined {
  if (disk.sourcePath !== undefined) return disk.sourcePath;
  if (disk.type !== 'network') return undefined;
  const source = childElement(disk.element, 'source');
  return source ? attrValue(source, 'name') : undefined;
}

/**
 * The default overlay path: the original path with its last `.suffix` (if in the file
 * name) replaced by `.SNAPNAME` — qa2-0.qcow2 becomes qa2-0.s1.
 */
export function defaultOverlayPath(originalPath: string, snapshotName: string): string {
  const dot = originalPath.lastIndexOf('.');
  const base = dot >= 0 && !originalPath.slice(dot).includes('/') ? originalPath.slice(0, dot) : originalPath;
  return `${base}.${snapshotName}`;
}

/** virDomainSnapshotDefAssignExternalNames; disks are in domain order here. */
function assignExternalNames(def: SnapshotDef, domain: DomainDef, opts: AlignDisksOptions): void {
  def.disks.forEach((disk, index) => {
    if (disk.snapshot !== 'external' || disk.sourcePath !== undefined) return;
    const type = disk.type ?? 'file';
    // A network overlay is named by its <source>; nothing to generate.
    if (type === 'network' && disk.sourceElement !== undefined) return;
    if (type !== 'file') {
      throw unsupported(`cannot generate external snapshot name for disk '${disk.name}' on a '${type}' device`);
    }
    const domDisk = domain.disks[index];
    const original = domDisk ? domainDiskSource(domDisk) : undefined;
    if (original === undefined) {
      throw unsupported(`cannot generate external snapshot name for disk '${disk.name}' without source`);
    }
    if (!opts.isRegularFile(original)) {
      throw unsupported(`source for disk '${disk.name}' is not a regular file; refusing to generate external snapshot name`);
    }
    disk.sourcePath = defaultOverlayPath(original, def.name);
    disk.type = 'file';
  });
  for (let i = 0; i < def.disks.length; i++) {
    const path = def.disks[i]?.sourcePath;
    if (path === undefined) continue;
    for (let j = i + 1; j < def.disks.length; j++) {
      if (def.disks[j]?.sourcePath === path) {
        throw unsupported(
          `cannot generate external snapshot name for disk '${def.disks[i]?.name}': collision with disk '${def.disks[j]?.name}'`,
        );
      }
    }
  }
}

/**
 * The driver-independent part of qemuSnapshotPrepare's memory/disk consistency rules,
 * applied after alignment: something must be selected, internal and external targets do
 * not mix, internal memory needs internal disks, and disk-only needs an external disk.
 */
export function checkSnapshotLocations(def: SnapshotDef): void {
  const modes = def.disks.map((d) => d.snapshot);
  const anyInternal = modes.includes('internal');
  const anyExternal = modes.includes('external');
  const memory = def.memory?.snapshot ?? 'no';
  if (!anyInternal && !anyExternal && memory === 'no' && !modes.includes('manual')) {
    throw unsupported('nothing selected for snapshot');
  }
  if (memory === 'internal' && !anyInternal) {
    throw unsupported('internal and full system snapshots require all disks to be selected for snapshot');
  }
  if (def.state === 'disk-snapshot' && !anyExternal) {
    throw unsupported('disk-only snapshots require at least one disk to be selected for snapshot');
  }
  if ((anyInternal && anyExternal) || (memory === 'internal' && anyExternal) || (memory === 'external' && anyInternal)) {
    throw unsupported('mixing internal and external targets for a snapshot is not yet supported');
  }
}
