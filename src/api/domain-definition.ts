/**
 * A domain definition as a plain object (the parts snapshots need): what
 * Domain.getDefinition() returns and parseDomainDefinition() reads from `<domain>` XML,
 * so disks and their sources can be had without parsing XML. The XML stays the source of
 * truth: the object is read from it and never written back.
 */
import type { DomainDef } from '../conf/domain-types.js';
import type { DiskChainAnswer, DiskChainQuery } from '../drivers/driver.js';
import type { DiskChainLayer, DiskChainOrigin } from './disk-chain.js';
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
  /**
   * The images the disk reads, top (`source`) first, down to its base, each with its
   * format. Set by Domain.getDefinition() and DomainSnapshot.getDefinition() (there: the
   * chain on disk now under the source the snapshot recorded); parseDomainDefinition(),
   * which reads no image, leaves it out. Empty for a disk without a source, and for
   * network and other non-file disks. A layer whose format is null was not read and ends
   * the chain (chainNote says why).
   */
  chain?: DiskChainLayer[];
  /** Where `chain` was read: 'qemu' (the running QEMU), 'images' (the headers on disk), 'definition' (the source alone). */
  chainOrigin?: DiskChainOrigin;
  /**
   * Why `chain` is not the whole story, when it is not: a backing format not recorded
   * (the chain ends unread), a chain that loops, or a running domain whose chain was read
   * from disk because its QEMU could not be asked.
   */
  chainNote?: string;
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

/** @internal Sets each disk's chain from a driver's answers (in the order of `def.disks`). */
export function withDiskChains(def: DomainDefinition, answers: readonly DiskChainAnswer[]): DomainDefinition {
  def.disks.forEach((disk, i) => {
    const answer = answers[i];
    if (!answer) return;
    disk.chain = answer.layers;
    disk.chainOrigin = answer.origin;
    if (answer.note !== undefined) disk.chainNote = answer.note;
  });
  return def;
}

/** @internal What a driver is asked about each disk of `def`. */
export function diskChainQueries(def: DomainDefinition): DiskChainQuery[] {
  return def.disks.map((d) => ({ target: d.target, type: d.type, ...(d.source !== undefined ? { source: d.source } : {}), ...(d.format !== undefined ? { format: d.format } : {}) }));
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
