/**
 * libvirt's virDomainSnapshotAlignDisks. Work in progress: exports are final.
 */
import type { DomainDef } from '../conf/domain-types.js';
import type { SnapshotDef } from '../conf/snapshot-types.js';

/** How alignment fills in and checks disks. */
export interface AlignDisksOptions {
  /** The mode for disks the XML does not mention (and for the memory default). */
  defaultMode: 'internal' | 'external';
  /** The driver needs every disk to be snapshotted internally (qemu internal, test driver). */
  uniformInternal: boolean;
  /** Generating an overlay name needs the original to be an existing regular file. */
  requireExistingSources?: boolean;
  /** Filesystem fact supplied by the caller: is `path` an existing regular file? */
  isRegularFile?: (path: string) => boolean;
}

/** Resolves, checks and completes `def.disks` against `domain`'s disks, in place. */
export function alignSnapshotDisks(def: SnapshotDef, domain: DomainDef, opts: AlignDisksOptions): void {
  void def;
  void domain;
  void opts;
}
