/**
 * The QEMU driver's view of the store: domain definitions as DomainDef and each domain's
 * snapshot metadata as a SnapshotTree, plus the writes a commit point makes. Snapshot XML
 * is stored as libvirt stores it (full `<domainsnapshot>` with `<domain>`), without
 * `<active>`: the current snapshot is a column, so "at most one" is enforced by SQLite.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainRef } from '../../driver.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { formatDomainXML, parseDomainXML, textMayHoldSecrets } from '../../../conf/domain-xml.js';
import type { SnapshotDef } from '../../../conf/snapshot-types.js';
import { formatSnapshotXML, parseSnapshotXML } from '../../../conf/snapshot-xml.js';
import { noSnapshotWithName, SnapshotTree } from '../../../snapshot/snapshot-tree.js';
import { isUnparsed, lazySnapshotDef } from './lazy-snapshot-def.js';
import type { DomainRecord, Store } from '../../../store/index.js';
import { repointDisks } from '../domain/point-disk.js';

/** A domain as the driver works with it. */
export interface LoadedDomain {
  record: DomainRecord;
  /** The persistent definition; for a transient domain, the one it runs (and restarts) with. */
  def: DomainDef;
}

/** libvirt's "no domain with matching name" error. */
export function noDomainByName(name: string): Error {
  return virError(VirErrorCode.NO_DOMAIN, VirErrorDomain.QEMU, `no domain with matching name '${name}'`);
}

/** Loads the domain a handle refers to (by UUID, as libvirt resolves virDomainPtr). */
export function loadDomain(store: Store, dom: DomainRef): LoadedDomain {
  const record = loadDomainRecord(store, dom);
  return { record, def: parseDomainXML((record.persistentXml ?? record.liveXml)!) };
}

/** The record of the domain a handle refers to (one with a definition), without parsing it. */
export function loadDomainRecord(store: Store, dom: DomainRef): DomainRecord {
  const record = store.domains.get(dom.uuid);
  const xml = record?.persistentXml ?? record?.liveXml;
  if (!record || !xml) {
    throw virError(VirErrorCode.NO_DOMAIN, VirErrorDomain.QEMU, `no domain with matching uuid '${dom.uuid}' (${dom.name})`);
  }
  return record;
}

/**
 * Stores `def` as the domain's definition: the persistent one, or for a transient domain
 * (which has none, and the schema keeps it so) the live one it is restarted from. Runs
 * inside the caller's transaction.
 */
export function storeDomainDefinition(store: Store, uuid: string, def: DomainDef): void {
  const xml = domainRecordXml(def);
  if (store.domains.get(uuid)?.persistent === false) store.domains.update(uuid, { liveXml: xml });
  else store.domains.update(uuid, { persistentXml: xml });
}

/**
 * The domain's snapshot tree, rebuilt from the store (parents linked in creation order).
 * Names, parents and the current snapshot come from columns; each snapshot's XML is
 * parsed only when its definition is read (lazy-snapshot-def.ts), so building the tree
 * of thousands of snapshots parses nothing.
 */
export function loadTree(store: Store, domainUuid: string): SnapshotTree {
  const tree = new SnapshotTree();
  const records = store.snapshots.listHeads(domainUuid);
  for (const rec of records) {
    tree.assign(lazySnapshotDef(rec.name, rec.parent ?? undefined, () => storedSnapshotXml(store, domainUuid, rec.name)));
  }
  // Linking after all are assigned: a redefinition may point a snapshot at a later one.
  tree.linkParents(records.map((r) => r.name));
  const current = records.find((r) => r.isCurrent);
  if (current) tree.setCurrent(current.name);
  return tree;
}

/** True when the domain has a snapshot called `name`: one indexed lookup, not the whole tree. */
export function hasStoredSnapshot(store: Store, domainUuid: string, name: string): boolean {
  return store.snapshots.has(domainUuid, name);
}

/**
 * Stores a newly created snapshot as applyCreation() and saveTree() on the whole tree
 * would: its parent is the current snapshot, and it becomes current. One lookup and one
 * insert, so creating snapshot 10,001 costs what creating the first does. Runs inside the
 * caller's transaction, under the domain's lock (so the current snapshot cannot move).
 */
export function storeCreatedSnapshot(store: Store, domainUuid: string, def: SnapshotDef): void {
  def.parent = store.snapshots.currentName(domainUuid);
  store.snapshots.insert({ domainUuid, name: def.name, xml: snapshotRecordXml(def), parent: def.parent ?? null, isCurrent: true });
}

/** Stored snapshot `name` of a domain, parsed on first use as in loadTree(), or undefined: one indexed lookup. */
export function loadStoredSnapshot(store: Store, domainUuid: string, name: string): SnapshotDef | undefined {
  const rec = store.snapshots.get(domainUuid, name);
  return rec && lazySnapshotDef(rec.name, rec.parent ?? undefined, () => rec.xml);
}

/**
 * Removes stored snapshot `name` alone as deleteFromTree(tree, name, 'snapshot') and
 * saveTree() on the whole tree would: its children move up to its parent (their stored
 * XML names the new parent), and if it was current its parent becomes current. Reads and
 * writes its row and its children's only, so deleting one of 10,000 snapshots costs what
 * deleting the only one does. Runs inside the caller's transaction, under the domain's lock.
 */
export function removeStoredSnapshot(store: Store, domainUuid: string, name: string): void {
  const rec = store.snapshots.get(domainUuid, name);
  if (!rec) throw noSnapshotWithName(name, VirErrorDomain.QEMU);
  for (const child of store.snapshots.children(domainUuid, name)) {
    // The column wins over the XML for the parent, as in loadTree(): formatting writes the new one.
    const def = lazySnapshotDef(child.name, rec.parent ?? undefined, () => child.xml);
    store.snapshots.update(domainUuid, child.name, { xml: snapshotRecordXml(def), parent: rec.parent });
  }
  // The children's parent foreign key is checked at COMMIT, when they no longer point here.
  store.snapshots.delete(domainUuid, name);
  if (rec.isCurrent) store.snapshots.setCurrent(domainUuid, rec.parent);
}

/** The stored XML of a snapshot the tree was built with (its row cannot go while the tree is used under the domain's lock). */
function storedSnapshotXml(store: Store, domainUuid: string, name: string): string {
  const rec = store.snapshots.get(domainUuid, name);
  if (!rec) throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `snapshot '${name}' is no longer in the store`);
  return rec.xml;
}

/** The XML stored for a snapshot: public form with secrets, no `<active>`. */
export function snapshotRecordXml(def: SnapshotDef): string {
  return formatSnapshotXML(def, { secure: true });
}

/** The XML stored for a domain definition: with its secrets, as libvirt keeps them. */
export function domainRecordXml(def: DomainDef): string {
  return formatDomainXML(def, { secure: true });
}

/** A stored domain definition as virDomainGetXMLDesc prints it: its secrets only with `secure`. */
export function storedDomainXmlFor(xml: string, secure: boolean): string {
  return secure || !textMayHoldSecrets(xml) ? xml : formatDomainXML(parseDomainXML(xml), {});
}

/**
 * Writes the whole tree of a domain back: rows for removed snapshots go, changed ones are
 * updated, new ones inserted, and the current snapshot set. Runs inside the caller's
 * transaction (the commit point), so it is all or nothing.
 */
export function saveTree(store: Store, domainUuid: string, tree: SnapshotTree): void {
  const existing = new Map(store.snapshots.listHeads(domainUuid).map((r) => [r.name, r]));
  const keep = new Set(tree.all().map((n) => n.def.name));
  for (const name of existing.keys()) if (!keep.has(name)) {
    // Children of a removed row are re-pointed below; the parent FK is checked at COMMIT.
    store.snapshots.delete(domainUuid, name);
  }
  for (const node of tree.topological()) {
    const def = node.def;
    const parent = node.parent && node.parent.def.name !== '' ? node.parent.def.name : null;
    const old = existing.get(def.name);
    // Never parsed, so unchanged (the domain is locked while its tree is changed): its row
    // stays as it is unless the parent moved. Reading every row's XML to compare would
    // make creating snapshot 10,001 cost 10,000 reads.
    if (old && old.parent === parent && isUnparsed(def)) continue;
    const xml = snapshotRecordXml(def);
    if (old) {
      const oldXml = store.snapshots.get(domainUuid, def.name)?.xml;
      if (oldXml !== xml || old.parent !== parent) store.snapshots.update(domainUuid, def.name, { xml, parent });
    } else {
      store.snapshots.insert({ domainUuid, name: def.name, xml, parent });
    }
  }
  store.snapshots.setCurrent(domainUuid, tree.currentName ?? null);
}

/**
 * Replaces image path `from` by `to` everywhere the domain's metadata names it: the
 * domain definition, every snapshot's stored `<domain>` and, with `live` (a merge done
 * under a running QEMU), the running definition. One transaction; idempotent. With
 * `snapshots: false` (a block commit, which keeps `from` and its view) snapshots keep it.
 */
export function replaceImagePath(
  store: Store, domainUuid: string, from: string, to: string, format: string, opts: { live?: boolean; snapshots?: boolean } = {},
): void {
  store.transaction(() => {
    const rec = store.domains.get(domainUuid);
    if (rec?.persistentXml) {
      const def = parseDomainXML(rec.persistentXml);
      if (repointDisks(def.disks, from, to, format)) store.domains.update(domainUuid, { persistentXml: domainRecordXml(def) });
    }
    if (opts.live && rec?.liveXml) {
      const live = parseDomainXML(rec.liveXml);
      if (repointDisks(live.disks, from, to, format)) store.domains.update(domainUuid, { liveXml: domainRecordXml(live) });
    }
    for (const snap of opts.snapshots === false ? [] : store.snapshots.list(domainUuid)) {
      const { def } = parseSnapshotXML(snap.xml, { redefine: true });
      if (repointDisks(def.domain?.disks ?? [], from, to, format)) store.snapshots.update(domainUuid, snap.name, { xml: snapshotRecordXml(def) });
    }
  });
}
