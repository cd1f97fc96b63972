/**
 * A domain definition as a plain object (the parts snapshots need): what
 * Domain.getDefinition() returns and parseDomainDefinition() reads from `<domain>` XML,
 * so disks and their sources can be had without parsing XML. The XML stays the source of
 * truth: the object is read from it and never written back.
 */
import type { DomainDef } from '../conf/domain-types.js';
import { parseDomainXML } from '../conf/domain-xml.js';
import { prepareXmlInput } from '../conf/xml-parse.js';

/** One `<devices><disk>` of a domain. */
export interface DomainDiskDefinition {
  /** `<disk type=…>`: file, block, network, … */
  type: 'file' | 'block' | 'dir' | 'network' | 'volume' | 'nvme' | 'vhostuser';
  /** `<disk device=…>`: disk, cdrom, floppy, lun. */
  device: 'disk' | 'cdrom' | 'floppy' | 'lun';
  /** `<target dev=…>`: the disk's name (vda, sdb, …), which snapshots use. */
  target: string;
  /** `<target bus=…>`: virtio, sata, scsi, … */
  bus?: string;
  /** `<source file=…>` or `<source dev=…>`: the image the disk reads now (after an external snapshot, its overlay). Absent for an empty drive or a network disk. */
  source?: string;
  /** `<driver type=…>`: the image format (qcow2, raw, …). */
  format?: string;
  /** `<readonly/>` */
  readonly: boolean;
  /** `<disk snapshot=…>`: the disk's default snapshot mode, when the domain sets one. */
  snapshot?: 'no' | 'internal' | 'external' | 'manual';
}

/** A `<domain>` definition, reduced to what snapshot work needs. */
export interface DomainDefinition {
  /** `<domain type=…>`: test, qemu, kvm, … */
  type: string;
  name: string;
  uuid: string;
  /** `<memory>` in KiB. */
  memoryKiB: number;
  /** `<currentMemory>` in KiB. */
  currentMemoryKiB: number;
  /** `<vcpu>` */
  vcpus: number;
  /** `<os><type>`: hvm, … */
  osType: string;
  /** `<os><type arch=…>` */
  arch?: string;
  /** `<os><type machine=…>` */
  machine?: string;
  /** The disks, in the order of the XML. */
  disks: DomainDiskDefinition[];
}

/** @internal The public object for a parsed definition. */
export function domainDefinitionOf(def: DomainDef): DomainDefinition {
  const out: DomainDefinition = {
    type: def.type, name: def.name, uuid: def.uuid, memoryKiB: def.memoryKiB, currentMemoryKiB: def.currentMemoryKiB,
    vcpus: def.vcpus, osType: def.osType, disks: [],
  };
  if (def.arch !== undefined) out.arch = def.arch;
  if (def.machine !== undefined) out.machine = def.machine;
  for (const disk of def.disks) {
    const d: DomainDiskDefinition = { type: disk.type, device: disk.device, target: disk.target, readonly: disk.readonly };
    if (disk.bus !== undefined) d.bus = disk.bus;
    if (disk.sourcePath !== undefined) d.source = disk.sourcePath;
    if (disk.format !== undefined) d.format = disk.format;
    if (disk.snapshot !== undefined) d.snapshot = disk.snapshot;
    out.disks.push(d);
  }
  return out;
}

/**
 * Reads `<domain>` XML (as Domain.getXMLDesc returns it) into a DomainDefinition.
 * Throws VirError (VIR_ERR_XML_ERROR / VIR_ERR_XML_DETAIL, libvirt's messages) for XML
 * libvirt would refuse.
 */
export async function parseDomainDefinition(xml: string): Promise<DomainDefinition> {
  await prepareXmlInput(xml);
  return domainDefinitionOf(parseDomainXML(xml));
}
