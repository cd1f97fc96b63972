/**
 * Snapshot definitions that are parsed only when a field beyond the name and the parent is
 * read. The store keeps both as columns, so the tree of a domain with 10,000 snapshots
 * (and `snapshot-list --tree`, `snapshot-parent`, creating one more, …) is built without
 * reading or parsing 10,000 `<domainsnapshot>` documents; a snapshot's XML is read and
 * parsed the first time its definition is looked at.
 *
 * The parsed fields are reached through accessors on the prototype (defining them per
 * object cost more than the whole tree), so until the first read an object spread
 * (`{ ...def }`) copies only the name and the parent: read a field first.
 */
import type { SnapshotDef } from '../../../conf/snapshot-types.js';
import { textMayHoldSecrets } from '../../../conf/domain-xml.js';
import { parseSnapshotXML } from '../../../conf/snapshot-xml.js';

/** Every SnapshotDef field other than name and parent (the compiler keeps this list complete). */
const PARSED_FIELDS: Record<Exclude<keyof SnapshotDef, 'name' | 'parent'>, true> = {
  description: true,
  state: true,
  creationTime: true,
  memory: true,
  disks: true,
  domain: true,
  domainUuidOnly: true,
  inactiveDomain: true,
  cookie: true,
};

/** A stored snapshot's definition; fields other than name and parent parse its XML on first use. */
class StoredSnapshotDef {
  parent?: string;
  #readXml: (() => string) | undefined;

  constructor(public name: string, parent: string | undefined, readXml: () => string) {
    if (parent !== undefined) this.parent = parent;
    this.#readXml = readXml;
  }

  /** True while the XML has not been parsed. */
  static isUnparsed(def: object): boolean {
    return #readXml in def && (def as StoredSnapshotDef).#readXml !== undefined;
  }

  /** The stored XML, while it has not been parsed (so the definition is unchanged), else undefined. */
  static unparsedXml(def: object): string | undefined {
    return #readXml in def ? (def as StoredSnapshotDef).#readXml?.() : undefined;
  }

  /** Parses the XML once and keeps every field it gives as an own property (name and parent stay). */
  static parse(def: StoredSnapshotDef): void {
    const readXml = def.#readXml;
    if (readXml === undefined) return;
    const parsed = parseSnapshotXML(readXml(), { redefine: true }).def;
    def.#readXml = undefined;
    for (const [field, value] of Object.entries(parsed)) {
      if (field !== 'name' && field !== 'parent') ownField(def, field, value);
    }
  }
}

/** Sets `field` as an own data property (plain assignment would reach the prototype's setter). */
function ownField(def: StoredSnapshotDef, field: string, value: unknown): void {
  Object.defineProperty(def, field, { value, writable: true, enumerable: true, configurable: true });
}

for (const field of Object.keys(PARSED_FIELDS)) {
  Object.defineProperty(StoredSnapshotDef.prototype, field, {
    get(this: StoredSnapshotDef): unknown {
      StoredSnapshotDef.parse(this);
      // After the parse a field the XML gave is an own property and never reaches here.
      return Object.getOwnPropertyDescriptor(this, field)?.value as unknown;
    },
    set(this: StoredSnapshotDef, value: unknown): void {
      StoredSnapshotDef.parse(this);
      ownField(this, field, value);
    },
    enumerable: false,
    configurable: false,
  });
}

/**
 * A definition for stored snapshot `name` under `parent` whose other fields come from the
 * XML `readXml` returns (stored `<domainsnapshot>`, as REDEFINE parses it) on first use.
 * The columns win over the XML for the name and the parent, as they did when every row
 * was parsed.
 */
export function lazySnapshotDef(name: string, parent: string | undefined, readXml: () => string): SnapshotDef {
  // Justified double cast: SnapshotDef's other fields are the prototype getters defined
  // above from PARSED_FIELDS, which TypeScript cannot see on the class.
  return new StoredSnapshotDef(name, parent, readXml) as unknown as SnapshotDef;
}

/**
 * What formatSnapshotXML(def, { secure }) prints, straight from the store while `def` is
 * unparsed, or undefined when it must be formatted. The stored text is that very output
 * with secure set (snapshotRecordXml; rows are rewritten whenever their parent moves), so
 * without `secure` it serves only when it holds no secret to strip. A flat snapshot-list
 * of 10,000 snapshots reads every snapshot's XML, and parsing and formatting each one
 * again cost most of the driver's time.
 */
export function unchangedSnapshotXml(def: SnapshotDef, secure: boolean): string | undefined {
  const xml = StoredSnapshotDef.unparsedXml(def);
  return xml !== undefined && (secure || !textMayHoldSecrets(xml)) ? xml : undefined;
}

/** True while `def` has not been parsed (so it is unchanged since it was read). */
export function isUnparsed(def: SnapshotDef): boolean {
  return StoredSnapshotDef.isUnparsed(def);
}
