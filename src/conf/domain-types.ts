/**
 * Typed view of a `<domain>` definition: the parts snapshots need. Everything else is
 * kept verbatim in `element` so that a parse/format round trip loses nothing.
 * Parsing and formatting live in domain-xml.ts.
 */
import type { XmlElement } from './xml-tree.js';

/** `<disk type=…>`: where the disk's data lives. */
export type DiskSourceType = 'file' | 'block' | 'dir' | 'network' | 'volume' | 'nvme' | 'vhostuser';
/** `<disk device=…>`: how the guest sees the disk. */
export type DiskDevice = 'disk' | 'cdrom' | 'floppy' | 'lun';
/** A disk's snapshot mode, in `<disk snapshot=…>` of a domain or of a snapshot. */
export type DiskSnapshotMode = 'no' | 'internal' | 'external' | 'manual';

/** One `<devices><disk>` of a domain. */
export interface DomainDiskDef {
  type: DiskSourceType;
  device: DiskDevice;
  /** `<target dev=…>`: the disk's name in snapshots (vda, sdb…). */
  target: string;
  bus?: string;
  /** `<source file=…>` or `<source dev=…>`; undefined for an empty drive or a network disk. */
  sourcePath?: string;
  /** `<driver type=…>`: the image format (qcow2, raw…). */
  format?: string;
  readonly: boolean;
  /** The domain-level default `<disk snapshot=…>` for this disk. */
  snapshot?: DiskSnapshotMode;
  /** The verbatim `<disk>` element; formatting writes the typed fields above back into it. */
  element: XmlElement;
}

/** A parsed `<domain>` definition (libvirt's virDomainDef, reduced). */
export interface DomainDef {
  /** `<domain type=…>`: test, qemu, kvm… */
  type: string;
  name: string;
  uuid: string;
  memoryKiB: number;
  currentMemoryKiB: number;
  vcpus: number;
  /** `<os><type>`: hvm, linux… */
  osType: string;
  arch?: string;
  machine?: string;
  disks: DomainDiskDef[];
  /** The verbatim `<domain>` element; formatting writes the typed fields back into it. */
  element: XmlElement;
}
