/**
 * A world for crash tests (a state dir and image dirs under one root) and the comparable
 * picture of everything an operation may change: the domain's XML (disk sources), each
 * disk's `qemu-img info --backing-chain` with its internal tags, the data each disk and
 * each snapshot presents (sha256 of a raw conversion), the file listing of every image
 * directory and of the state directory, the snapshot list, their XML and the current one,
 * the open journal entries (always none once recovery ran), and the group records. A
 * group's world pictures every member so.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from '../../src/api/connection.js';
import { openSessionAt } from '../helpers/qemu-connection.js';
import { parseDomainXML } from '../../src/conf/domain-xml.js';
import { parseSnapshotXML } from '../../src/conf/snapshot-xml.js';
import type { QemuDriver } from '../../src/drivers/qemu/qemu-driver.js';
import { openEntries } from '../../src/txn/index.js';
import { chainOf, listingOf } from '../helpers/disk-state.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';
import { nvramPathOf } from '../../src/drivers/qemu/domain/devices/firmware.js';
import { nvramPicture } from './firmware-world.js';
import { generationAgnostic, tpmPicture } from './tpm-picture.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

const run = promisify(execFile);

/** Where a world lives: `<root>/state` and the image directories. */
export interface WorldDirs {
  root: string;
  stateDir: string;
  imageDirs: string[];
  /** Scratch space for raw conversions, outside every listed directory. */
  scratchDir: string;
}

/** The comparable picture of a world. */
export interface WorldPicture {
  domains: string[];
  domain: null | {
    xml: string;
    snapshots: Record<string, string>;
    current: string | null;
    disks: Array<{ target: string; source: string; chain: unknown[]; data: string }>;
    snapshotData: Record<string, Record<string, string>>;
  };
  /** A group's world: each other member's picture, as `domain` is the first's. */
  others: Record<string, WorldPicture['domain']>;
  /** Every group record (its XML, the creation time left out). */
  groups: Record<string, string>;
  images: string[][];
  state: string[];
  /** sha256 of the NVRAM file and of every snapshot's copy (firmware-world.ts). */
  nvram: Record<string, string>;
  /** What each TPM path is, sha256 of the state it leads to and of every snapshot's copy (tpm-picture.ts). */
  tpm: Record<string, string>;
  openJournalEntries: number;
}

/** Opens qemu:///session on `stateDir` (recovery runs, as in any new process). */
export const openAt = openSessionAt;

let scratchCounter = 0;

/** sha256 of what an image presents (its whole chain), or of an internal snapshot of it. */
export async function dataOf(dirs: WorldDirs, path: string, format: string, tag?: string): Promise<string> {
  const out = join(dirs.scratchDir, `convert-${process.pid}-${scratchCounter++}.raw`);
  const args = ['convert', '-U', '-f', format, '-O', 'raw'];
  if (tag !== undefined) args.push('-l', `snapshot.name=${tag}`);
  args.push(path, out);
  try {
    await run('qemu-img', args);
    return createHash('sha256').update(await readFile(out)).digest('hex').slice(0, 16);
  } catch (err) {
    // A missing image or tag is part of the picture, not a test crash.
    return `unreadable: ${(err as Error).message.split('\n').slice(-2).join(' ').trim()}`;
  } finally {
    await rm(out, { force: true });
  }
}

/** A snapshot's or group's XML without what differs between two runs of the same operation (the time). */
function stableXml(xml: string): string {
  return xml.replace(/<creationTime>[^<]*<\/creationTime>/, '<creationTime/>');
}

/** The state dir's entries that tell about durable state (SQLite's -wal/-shm come and go). */
async function stateNames(stateDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      // SQLite's -wal/-shm come and go; a dead holder's .holder file is only diagnostics
      // (reported as stale, never trusted as the lock: docs/RELIABILITY.md G9), and so is
      // a job's record and abort request (a dead owner's job is no job: txn/domain-job.ts).
      if (/-(wal|shm|journal)$|\.holder$|\.job(-abort)?$/.test(e.name)) continue;
      // A TPM generation's name is random per revert (tpm-picture.ts pictures it by content).
      out.push(generationAgnostic(prefix + e.name));
      if (e.isDirectory()) await walk(join(dir, e.name), `${prefix}${e.name}/`);
    }
  };
  await walk(stateDir, '');
  return out;
}

/** What a picture holds of one domain. */
export type DomainPicture = NonNullable<WorldPicture['domain']>;

/** The picture of domain `name` through `conn`: null when it is not defined. */
async function domainPictureIn(conn: Connection, dirs: WorldDirs, name: string): Promise<DomainPicture | null> {
  if (!(await conn.listAllDomains()).some((d) => d.getName() === name)) return null;
  const dom = await conn.domainLookupByName(name);
  const xml = await dom.getXMLDesc();
  const def = parseDomainXML(xml);
  const snapshots: Record<string, string> = {};
  // Every image read (qemu-img runs, read-only) starts at once: they are independent,
  // and a case's picture is most of its time. Results land in a fixed order.
  const snapshotReads: Array<Promise<[string, Record<string, string>]>> = [];
  for (const snap of await dom.listAllSnapshots()) {
    const sxml = await snap.getXMLDesc();
    snapshots[snap.getName()] = stableXml(sxml);
    const sdef = parseSnapshotXML(sxml, { redefine: true }).def;
    const reads = sdef.disks.flatMap((sd): Array<Promise<[string, string]>> => {
      const frozen = sdef.domain?.disks.find((d) => d.target === sd.name);
      if (!frozen?.sourcePath) return [];
      if (sd.snapshot === 'internal') return [dataOf(dirs, frozen.sourcePath, 'qcow2', sdef.name).then((h) => [sd.name, h])];
      if (sd.snapshot === 'external') return [dataOf(dirs, frozen.sourcePath, frozen.format ?? 'raw').then((h) => [sd.name, h])];
      return [];
    });
    snapshotReads.push(Promise.all(reads).then((pairs) => [snap.getName(), Object.fromEntries(pairs)]));
  }
  const current = (await dom.hasCurrentSnapshot()) ? (await dom.snapshotCurrent()).getName() : null;
  const disks = await Promise.all(def.disks.flatMap((d) => {
    if (!d.sourcePath) return [];
    const source = d.sourcePath;
    const format = d.format ?? 'raw';
    return [Promise.all([chainOf(source, format), dataOf(dirs, source, format)])
      .then(([chain, data]) => ({ target: d.target, source, chain, data }))];
  }));
  const snapshotData: Record<string, Record<string, string>> = Object.fromEntries(await Promise.all(snapshotReads));
  return { xml, snapshots, current, disks, snapshotData };
}

/**
 * Takes the picture of the world through a fresh connection (so recovery runs first):
 * `domainName`'s, and, for a group's world, each of `others` (every member is pictured
 * whole: its files, chains, data and metadata, beside the group records).
 */
export async function pictureOf(dirs: WorldDirs, domainName: string, others: readonly string[] = []): Promise<WorldPicture> {
  const conn = await openAt(dirs.stateDir);
  try {
    const driver = conn.driver as QemuDriver;
    const domains = (await conn.listAllDomains()).map((d) => d.getName()).sort();
    const domain = await domainPictureIn(conn, dirs, domainName);
    const otherPictures: Record<string, DomainPicture | null> = {};
    for (const name of others) otherPictures[name] = await domainPictureIn(conn, dirs, name);
    // Every group record: its <groupsnapshot> (members, state, description), the time left out.
    const groups: Record<string, string> = {};
    for (const g of await conn.listAllGroupSnapshots()) groups[g.getName()] = stableXml(await g.getXMLDesc());
    return {
      domains,
      domain,
      others: otherPictures,
      groups,
      images: await Promise.all(dirs.imageDirs.map((d) => listingOf(d, { sizes: false }))),
      state: await stateNames(dirs.stateDir),
      // The first domain's NVRAM (a UEFI world has one domain).
      nvram: await nvramPicture(dirs.stateDir, domain ? nvramPathOf(parseDomainXML(domain.xml)) : undefined),
      tpm: await tpmPicture(dirs.stateDir),
      openJournalEntries: openEntries(driver.store).length,
    };
  } finally {
    await conn.close();
  }
}

/** 'before', 'after', or undefined when the picture is neither. */
export function classify<P>(p: P, before: P, after: P): 'before' | 'after' | undefined {
  const s = JSON.stringify(p);
  if (s === JSON.stringify(before)) return 'before';
  if (s === JSON.stringify(after)) return 'after';
  return undefined;
}

/** A short human diff of two pictures (top-level keys that differ, with both values), for failure messages. */
export function describeDifference<P>(p: P, expected: P): string {
  const lines: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of keys) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      return;
    }
    lines.push(`${path}: got ${JSON.stringify(a)?.slice(0, 600)} expected ${JSON.stringify(b)?.slice(0, 600)}`);
  };
  walk(p, expected, 'world');
  return lines.slice(0, 12).join('\n');
}
