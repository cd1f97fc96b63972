/**
 * snapvirt's way over from libvirt: a shut-off libvirt domain's definition and its snapshot
 * metadata, read with the system's virsh, defined in a snapvirt connection and redefined
 * there (VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE, parents first, libvirt's current one with
 * CURRENT). The disks are not copied: snapvirt takes over the same image files, so libvirt
 * must not use the domain afterwards (README, "snapvirt and libvirt").
 */
import type { Connection } from '../api/connection.js';
import type { Domain } from '../api/domain.js';
import { parseDomainDefinition } from '../api/domain-definition.js';
import { VirErrorCode, VirErrorDomain, isVirError, virError } from '../api/errors.js';
import { DomainUndefineFlags, SnapshotCreateFlags, combineFlags } from '../api/flags.js';
import { DEFAULT_LIBVIRT_URI, readLibvirtDomain, type LibvirtDomainSource } from './libvirt-reader.js';

/** Options of importLibvirtDomain. */
export interface LibvirtImportOptions {
  /** The libvirt connection URI virsh reads from; qemu:///system by default. */
  uri?: string;
}

/** What importLibvirtDomain brought over, and what of the libvirt domain it left behind. */
export interface LibvirtImportResult {
  /** The domain now defined in snapvirt. */
  domain: Domain;
  /** The snapshots redefined, parents first. */
  snapshots: string[];
  /** The current snapshot (libvirt's), or null. */
  current: string | null;
  /** Plain sentences naming what libvirt holds for this domain that snapvirt did not take. */
  notImported: string[];
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether `lookup` finds a domain (a NO_DOMAIN error means it does not). */
async function findDomain(lookup: () => Promise<Domain>): Promise<Domain | undefined> {
  try {
    return await lookup();
  } catch (err) {
    if (isVirError(err, VirErrorCode.NO_DOMAIN)) return undefined;
    throw err;
  }
}

/** Refuses what cannot be imported without losing something, before snapvirt is changed. */
async function checkImportable(conn: Connection, src: LibvirtDomainSource, name: string, uuid: string): Promise<void> {
  if (src.state !== 'shut off') {
    throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN,
      `domain '${name}' is ${src.state} in libvirt (${src.uri}); shut it off there before importing it`);
  }
  if (src.managedSave) {
    throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN,
      `domain '${name}' has a managed save image in libvirt (${src.uri}), which snapvirt cannot take over; `
      + 'start and shut it down there, or drop the image with virsh managedsave-remove, before importing it');
  }
  // virDomainObjListAdd's messages: the same name first here, since the name is what the user typed.
  const byName = await findDomain(() => conn.domainLookupByName(name));
  if (byName) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN,
      `domain '${name}' already exists with uuid ${byName.getUUIDString()}`);
  }
  const byUuid = await findDomain(() => conn.domainLookupByUUIDString(uuid));
  if (byUuid) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN,
      `domain '${byUuid.getName()}' is already defined with uuid ${uuid}`);
  }
}

/**
 * Imports the shut-off libvirt domain `name` (read with `virsh -c uri`) and its snapshot
 * metadata into `conn`. All or nothing: a refusal changes nothing, and a redefine that fails
 * undefines what was imported (its metadata only; the disks are libvirt's and untouched).
 */
export async function importLibvirtDomain(conn: Connection, name: string, options: LibvirtImportOptions = {}): Promise<LibvirtImportResult> {
  conn.denyIfReadOnly('importLibvirtDomain');
  const src = await readLibvirtDomain(name, options.uri ?? DEFAULT_LIBVIRT_URI);
  const def = await parseDomainDefinition(src.domainXml);
  await checkImportable(conn, src, def.name, def.uuid);
  // libvirt's XML as it is: nothing is rewritten on the way over.
  const snapshotXmls = src.snapshots.map((snap) => snap.xml);
  const domain = await conn.domainDefineXML(src.domainXml);
  const done: string[] = [];
  try {
    for (const [i, snap] of src.snapshots.entries()) {
      const flags = snap.name === src.current
        ? combineFlags(SnapshotCreateFlags.REDEFINE, SnapshotCreateFlags.CURRENT)
        : SnapshotCreateFlags.REDEFINE;
      await domain.snapshotCreateXML(snapshotXmls[i]!, flags);
      done.push(snap.name);
    }
  } catch (err) {
    // The metadata only: the NVRAM and TPM files named by the definition are libvirt's.
    try {
      await domain.undefine(combineFlags(DomainUndefineFlags.SNAPSHOTS_METADATA, DomainUndefineFlags.KEEP_NVRAM,
        DomainUndefineFlags.KEEP_TPM));
    } catch (undoErr) {
      // The user must learn that a partial import is left, not only why the redefine failed.
      throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN,
        `importing domain '${def.name}' failed (${errorText(err)}) and undefining what was imported failed too `
        + `(${errorText(undoErr)}): undefine it with snapvirt undefine --snapshots-metadata`);
    }
    throw err;
  }
  const notImported: string[] = [];
  if (src.checkpoints.length > 0) {
    notImported.push(`checkpoints ${src.checkpoints.join(', ')} (snapvirt has no checkpoints; libvirt keeps their bitmaps in the images)`);
  }
  return { domain, snapshots: done, current: src.current, notImported };
}
