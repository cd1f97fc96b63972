/**
 * `<domainsnapshot>` XML ⇄ SnapshotDef (libvirt's virDomainSnapshotDefParseString and
 * virDomainSnapshotDefFormat). Work in progress: exports are final.
 */
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import type { SnapshotDef } from './snapshot-types.js';

/** Parse flags: VIR_DOMAIN_SNAPSHOT_PARSE_REDEFINE / _INTERNAL / _OFFLINE. */
export interface SnapshotParseOptions {
  redefine?: boolean;
  internal?: boolean;
  offline?: boolean;
}

/** Parses snapshot XML; `current` is `<active>1</active>` (only read with `internal`). */
export function parseSnapshotXML(xml: string, opts: SnapshotParseOptions): { def: SnapshotDef; current: boolean } {
  void xml;
  void opts;
  throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.DOMAIN_SNAPSHOT, 'parseSnapshotXML not implemented yet');
}

/** Formats a SnapshotDef as snapshot-dumpxml prints it; `internal` adds `<active>`. */
export function formatSnapshotXML(def: SnapshotDef, opts: { secure?: boolean; internal?: { current: boolean } } = {}): string {
  void def;
  void opts;
  throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.DOMAIN_SNAPSHOT, 'formatSnapshotXML not implemented yet');
}

/** qemu's snapshot name rules: no '/', no leading '.' (VIR_ERR_XML_DETAIL). */
export function checkSnapshotName(name: string): void {
  if (name.includes('/')) {
    throw virError(VirErrorCode.XML_DETAIL, VirErrorDomain.DOMAIN_SNAPSHOT, `invalid snapshot name '${name}': name can't contain '/'`);
  }
  if (name.startsWith('.')) {
    throw virError(VirErrorCode.XML_DETAIL, VirErrorDomain.DOMAIN_SNAPSHOT, `invalid snapshot name '${name}': name can't start with '.'`);
  }
}
