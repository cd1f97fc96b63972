/**
 * Snapshot definitions as plain objects: snapshotXML() builds `<domainsnapshot>` XML from
 * one (every character of a name or description escaped, the result checked by libvirt's
 * rules), and parseSnapshotDefinition() / DomainSnapshot.getDefinition() read one back from
 * the XML snapvirt prints. The XML stays the source of truth: snapshotXML(parse(xml))
 * gives back, byte for byte, any XML snapshotXML() made.
 */
import type { SnapshotDef, SnapshotDiskDef } from '../conf/snapshot-types.js';
import { snapshotDefFromElement, snapshotElementOf, SNAPSHOT_DOC_NAME } from '../conf/snapshot-xml.js';
import { formatElement } from '../conf/xml-format.js';
import { parseXmlDocument, prepareXmlInput } from '../conf/xml-parse.js';
import { childElement } from '../conf/xml-tree.js';
import { domainDefinitionOf, type DomainDefinition } from './domain-definition.js';
import { VirErrorDomain } from './errors.js';

/** A disk's or the memory's snapshot mode (`snapshot=` in libvirt's XML). */
export type SnapshotMode = 'no' | 'internal' | 'external' | 'manual';

/** One `<disks><disk>` of a snapshot: what happens to that disk. */
export interface SnapshotDiskDefinition {
  /** The disk's target (vda) or its source path, as libvirt accepts either. */
  name: string;
  /** no: left out; internal: a qcow2-internal snapshot; external: an overlay file; manual: the caller's job. */
  snapshot?: SnapshotMode;
  /** The external overlay's type (file, the default, or block). */
  type?: 'file' | 'block';
  /** The external overlay's format: `<driver type=…>` (qcow2). */
  format?: string;
  /** The external overlay's path: `<source file=…>` (or `dev=` for block). */
  source?: string;
}

/** `<memory>`: how the guest's memory is saved. */
export interface SnapshotMemoryDefinition {
  snapshot: SnapshotMode;
  /** The memory file, for external. */
  file?: string;
}

/** What snapshotXML() builds from: every field optional, as in libvirt's input XML. */
export interface SnapshotDefinitionInput {
  /** The snapshot's name; libvirt picks one (the creation time) when absent. */
  name?: string;
  /** Free text: any characters, escaped for XML here. */
  description?: string;
  memory?: SnapshotMemoryDefinition;
  disks?: SnapshotDiskDefinition[];
}

/** libvirt's `<state>` of a snapshot: the domain's state when it was taken. */
export type SnapshotStateName =
  | 'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended' | 'disk-snapshot';

/** A snapshot definition as read from XML (DomainSnapshot.getDefinition, parseSnapshotDefinition). */
export interface SnapshotDefinition {
  name: string;
  description?: string;
  /** The domain's state when the snapshot was taken (disk-snapshot for a disk-only one). */
  state?: SnapshotStateName;
  /** The parent snapshot's name; absent for a root. */
  parent?: string;
  /** When it was taken, in seconds since the epoch (UTC). */
  creationTime?: number;
  memory?: SnapshotMemoryDefinition;
  disks: SnapshotDiskDefinition[];
  /** The domain's definition as it was when the snapshot was taken (its disks' sources then). */
  domain?: DomainDefinition;
}

function diskDefOf(disk: SnapshotDiskDefinition): SnapshotDiskDef {
  const def: SnapshotDiskDef = { name: disk.name };
  if (disk.snapshot !== undefined) def.snapshot = disk.snapshot;
  if (disk.type !== undefined) def.type = disk.type;
  if (disk.format !== undefined) def.format = disk.format;
  if (disk.source !== undefined) def.sourcePath = disk.source;
  return def;
}

/**
 * `<domainsnapshot>` XML for `definition`, as Domain.snapshotCreateXML takes it. Names and
 * descriptions may hold any characters (`&`, `<`, quotes): they are escaped. The result is
 * read back by libvirt's rules first, so a definition libvirt would refuse throws that
 * VirError here (VIR_ERR_XML_ERROR, libvirt's message) rather than at create time.
 */
export async function snapshotXML(definition: SnapshotDefinitionInput): Promise<string> {
  const def: SnapshotDef = { name: definition.name ?? '', disks: (definition.disks ?? []).map(diskDefOf) };
  if (definition.description !== undefined) def.description = definition.description;
  if (definition.memory !== undefined) def.memory = { ...definition.memory };
  const root = snapshotElementOf(def);
  // libvirt's input has no <name> when the caller leaves the choice to it.
  if (definition.name === undefined) root.children = root.children.filter((c) => !('name' in c && c.name === 'name'));
  const xml = formatElement(root, 0);
  await parseSnapshotDefinition(xml);
  return xml;
}

/** @internal The public object for a parsed snapshot definition. */
export function snapshotDefinitionOf(def: SnapshotDef, hadCreationTime: boolean): SnapshotDefinition {
  const out: SnapshotDefinition = { name: def.name, disks: [] };
  if (def.description !== undefined) out.description = def.description;
  if (def.state !== undefined) out.state = def.state;
  if (def.parent !== undefined) out.parent = def.parent;
  if (hadCreationTime && def.creationTime !== undefined) out.creationTime = def.creationTime;
  if (def.memory?.snapshot !== undefined) {
    out.memory = { snapshot: def.memory.snapshot };
    if (def.memory.file !== undefined) out.memory.file = def.memory.file;
  }
  for (const disk of def.disks) {
    const d: SnapshotDiskDefinition = { name: disk.name };
    if (disk.snapshot !== undefined) d.snapshot = disk.snapshot;
    if (disk.type === 'file' || disk.type === 'block') d.type = disk.type;
    if (disk.format !== undefined) d.format = disk.format;
    if (disk.sourcePath !== undefined) d.source = disk.sourcePath;
    out.disks.push(d);
  }
  if (def.domain) out.domain = domainDefinitionOf(def.domain);
  return out;
}

/**
 * Reads `<domainsnapshot>` XML (what snapshotXML() builds, or what
 * DomainSnapshot.getXMLDesc returns) into a SnapshotDefinition. Throws VirError
 * (VIR_ERR_XML_ERROR / VIR_ERR_XML_DETAIL, libvirt's messages) for XML libvirt would refuse.
 */
export async function parseSnapshotDefinition(xml: string): Promise<SnapshotDefinition> {
  await prepareXmlInput(xml);
  const root = parseXmlDocument(xml, SNAPSHOT_DOC_NAME, VirErrorDomain.DOMAIN_SNAPSHOT, 'domainsnapshot');
  // A stored snapshot (state, creation time) is read as libvirt reads a redefinition, with
  // its parent and domain; a new one as a create reads it.
  const stored = childElement(root, 'state') !== undefined && childElement(root, 'creationTime') !== undefined;
  const { def } = snapshotDefFromElement(root, { redefine: stored });
  return snapshotDefinitionOf(def, stored);
}
