/**
 * Who in the state directory reaches which image: every domain's definitions (persistent,
 * and live while it runs: the chain its QEMU has open) and every snapshot of every domain,
 * each through its backing chains (image-chain-walk.ts). A file snapvirt created for one
 * domain may be used by another (a clone defined from `dumpxml`, a rescue domain on the
 * same disk, a snapshot of one built on the other's overlay); such a file is never
 * discarded while anyone reaches it.
 */
import { resolve } from 'node:path';
import type { DomainDef } from '../../../conf/domain-types.js';
import { parseDomainXML } from '../../../conf/domain-xml.js';
import type { SnapshotDef } from '../../../conf/snapshot-types.js';
import { parseSnapshotXML } from '../../../conf/snapshot-xml.js';
import type { SnapshotTree } from '../../../snapshot/snapshot-tree.js';
import type { Store } from '../../../store/index.js';
import { MEMORY_STATE, reachableFrom, type ImageRoot } from './image-chain-walk.js';

function addDomain(out: ImageRoot[], d: DomainDef | undefined): void {
  for (const disk of d?.disks ?? []) if (disk.sourcePath) out.push({ path: resolve(disk.sourcePath), format: disk.format });
}

function addSnapshot(out: ImageRoot[], def: SnapshotDef): void {
  addDomain(out, def.domain);
  addDomain(out, def.inactiveDomain);
  for (const disk of def.disks) {
    // An external overlay is qcow2 unless the snapshot says otherwise (libvirt's default).
    if (disk.snapshot === 'external' && disk.sourcePath) out.push({ path: resolve(disk.sourcePath), format: disk.format ?? 'qcow2' });
  }
  // A memory file is a reached file, never an image to parse.
  if (def.memory?.file) out.push({ path: resolve(def.memory.file), format: MEMORY_STATE });
}

/** The images one snapshot names (its definitions, its external overlays, its memory file). */
export function snapshotRoots(def: SnapshotDef): ImageRoot[] {
  const out: ImageRoot[] = [];
  addSnapshot(out, def);
  return out;
}

/** The images a domain state (definition and snapshot tree) names, with their formats. */
export function rootsOf(domain: DomainDef | undefined, tree: SnapshotTree | undefined): ImageRoot[] {
  const out: ImageRoot[] = [];
  addDomain(out, domain);
  for (const node of tree?.all() ?? []) addSnapshot(out, node.def);
  return out;
}

/** Every file snapvirt created as a qcow2 image, for any domain: their format is known. */
export function createdQcow2(store: Store): Set<string> {
  return new Set(store.ownership.allCreatedImages().map((o) => o.path));
}

/** What each domain in the store (but `except`) names, from its stored definitions and snapshots. */
export function rootsByDomain(store: Store, except?: string): Map<string, ImageRoot[]> {
  const out = new Map<string, ImageRoot[]>();
  for (const rec of store.domains.list()) {
    if (rec.uuid === except) continue;
    const roots: ImageRoot[] = [];
    for (const xml of [rec.persistentXml, rec.liveXml]) if (xml) addDomain(roots, parseDomainXML(xml));
    for (const snap of store.snapshots.list(rec.uuid)) addSnapshot(roots, parseSnapshotXML(snap.xml, { redefine: true }).def);
    out.set(rec.name, roots);
  }
  return out;
}

/**
 * What every domain but one reaches, walked once and then asked as often as an operation
 * needs (its discard decision, then one merge decision per disk): every other domain's
 * definitions and snapshots are parsed and their chains read on the first question only.
 */
export class OtherDomainsReach {
  readonly #store: Store;
  readonly #uuid: string;
  #reached: Promise<Array<[string, Set<string>]>> | undefined;

  constructor(store: Store, uuid: string) {
    this.#store = store;
    this.#uuid = uuid;
  }

  /** For each of `paths` that another domain reaches, the names of those domains. */
  async usersOf(paths: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (paths.length === 0) return out;
    this.#reached ??= this.#walk();
    for (const [name, reached] of await this.#reached) {
      for (const p of paths) if (reached.has(p)) out.set(p, [...(out.get(p) ?? []), name]);
    }
    return out;
  }

  async #walk(): Promise<Array<[string, Set<string>]>> {
    const known = createdQcow2(this.#store);
    const out: Array<[string, Set<string>]> = [];
    for (const [name, roots] of rootsByDomain(this.#store, this.#uuid)) out.push([name, await reachableFrom(roots, known)]);
    return out;
  }
}

/** For each of `paths` that another domain than `uuid` reaches, the names of those domains (one question). */
export function otherUsersOf(store: Store, uuid: string, paths: readonly string[]): Promise<Map<string, string[]>> {
  return new OtherDomainsReach(store, uuid).usersOf(paths);
}

/** "domain 'vm2' uses it" / "domains 'vm2', 'vm3' use it", for warnings and findings. */
export function usersText(names: readonly string[]): string {
  return names.length > 1 ? `domains '${names.join("', '")}' use it` : `domain '${names[0]}' uses it`;
}
