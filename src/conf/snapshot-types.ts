/**
 * Typed `<domainsnapshot>` definition (libvirt's virDomainSnapshotDef). Parsing, checks
 * and formatting live in snapshot-xml.ts.
 */
import type { DiskSnapshotMode, DomainDef } from './domain-types.js';
import type { XmlElement } from './xml-tree.js';

/** `<state>` values: the domain's state when the snapshot was taken. */
export type SnapshotState =
  | 'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed'
  | 'pmsuspended' | 'disk-snapshot';

/** `<memory snapshot=…>`: how the guest memory is saved. */
export type MemorySnapshotMode = 'no' | 'internal' | 'external' | 'manual';

/** One `<disks><disk>` of a snapshot (libvirt's virDomainSnapshotDiskDef). */
export interface SnapshotDiskDef {
  /** The disk's target name (vda) after alignment; as given (target or path) before. */
  name: string;
  snapshot?: DiskSnapshotMode;
  /** The external overlay's source type. */
  type?: 'file' | 'block' | 'network';
  /** The overlay's format: `<driver type=…>` (qcow2, qed). */
  format?: string;
  /** The overlay's path: `<source file=…>` or `<source dev=…>`. */
  sourcePath?: string;
  /** The verbatim `<source>` element, for network sources and seclabels. */
  sourceElement?: XmlElement;
  /** The verbatim `<driver>` element, for `<metadata_cache>`. */
  driverElement?: XmlElement;
  /** `<driver><metadata_cache><max_size>` in bytes (qcow2 overlays only). */
  metadataCacheMaxBytes?: number;
  /** libvirt 9.0's `<snapshotDeleteInProgress/>` marker. */
  deleteInProgress?: boolean;
}

/** A parsed `<domainsnapshot>` (libvirt's virDomainSnapshotDef). */
export interface SnapshotDef {
  name: string;
  description?: string;
  state?: SnapshotState;
  /** The parent snapshot's name; undefined for a root. */
  parent?: string;
  /** Epoch seconds (UTC). */
  creationTime?: number;
  memory?: { snapshot?: MemorySnapshotMode; file?: string };
  disks: SnapshotDiskDef[];
  /** The full inactive domain definition at snapshot time. */
  domain?: DomainDef;
  /** Old metadata kept only `<domain><uuid>…</uuid></domain>`: reverting it is risky. */
  domainUuidOnly?: string;
  /** The persistent definition of a running domain (qemu, running and persistent). */
  inactiveDomain?: DomainDef;
  /** Opaque save cookie (qemu, running snapshots), kept verbatim. */
  cookie?: XmlElement;
}
