/**
 * snapshot-check's search for stray files: files snapvirt created for a domain (listed in
 * its driver state, or created by a journaled operation that was abandoned) that no
 * metadata of any domain names and that no image anywhere is built on; and temporary files
 * a durable write left when its process died. Also decides which of them `--repair` may
 * remove: only what provably holds nothing anyone can need.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { VirError } from '../../../api/errors.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { parseDomainXML } from '../../../conf/domain-xml.js';
import { parseSnapshotXML } from '../../../conf/snapshot-xml.js';
import type { Store } from '../../../store/index.js';
import { loadEntry, openEntries, resourcesOf, type JournalEntry } from '../../../txn/index.js';
import { findChildImages, notQcow2Paths, readQcow2Backing } from '../images/chain-inspect.js';
import type { CheckedDomain, FindingList } from './snapshot-check-disks.js';
import { reachableFrom } from '../images/image-chain-walk.js';
import { createdQcow2, rootsByDomain } from '../images/image-users.js';
import { checkImageFileType } from '../images/image-file-open.js';
import { imageInfo, runQemuImg } from '../images/qemu-img.js';
import { pathExists } from '../images/path-exists.js';

/** A file `--repair` may remove, and the finding it answers. */
export interface RemovableFile {
  path: string;
  /** True when it is listed in the domain's driver state (the list must forget it). */
  listed: boolean;
}

/** What the metadata of every domain in the store names. */
export interface StoreReferences {
  /** Image paths and memory files (absolute). */
  files: Set<string>;
  /** `image:tag` of every internal snapshot's disks. */
  tags: Set<string>;
}

/** Every file and internal tag any domain's metadata in the store names. */
export function referencesInStore(store: Store): StoreReferences {
  const files = new Set<string>();
  const tags = new Set<string>();
  const addDomain = (d: DomainDef | undefined): void => {
    for (const disk of d?.disks ?? []) if (disk.sourcePath) files.add(resolve(disk.sourcePath));
  };
  for (const rec of store.domains.list()) {
    for (const xml of [rec.persistentXml, rec.liveXml]) if (xml) addDomain(parseDomainXML(xml));
    for (const snap of store.snapshots.list(rec.uuid)) {
      const { def } = parseSnapshotXML(snap.xml, { redefine: true });
      addDomain(def.domain);
      addDomain(def.inactiveDomain);
      for (const disk of def.disks) {
        if (disk.sourcePath) files.add(resolve(disk.sourcePath));
        const image = def.domain?.disks.find((d) => d.target === disk.name)?.sourcePath;
        if (disk.snapshot === 'internal' && image) tags.add(`${resolve(image)}:${def.name}`);
      }
      if (def.memory?.file) files.add(resolve(def.memory.file));
    }
  }
  return { files, tags };
}

/**
 * The files and internal tag names the journal's open entries (of every domain) create or
 * change: recovery owns them. Tags are by name (a live revert journals one tag over many
 * images): a tag of that name is only skipped (left to recovery), never removed for it.
 */
export function filesOfOpenEntries(store: Store): { files: Set<string>; tagNames: Set<string> } {
  const files = new Set<string>();
  const tagNames = new Set<string>();
  for (const entry of openEntries(store)) {
    for (const r of resourcesOf(entry)) {
      for (const field of ['path', 'overlay']) if (typeof r[field] === 'string') files.add(resolve(r[field] as string));
      for (const field of ['tag', 'undoTag']) if (typeof r[field] === 'string') tagNames.add(r[field] as string);
    }
  }
  return { files, tagNames };
}

/** Files created by steps of this domain's abandoned journal entries that were never undone. */
function filesOfAbandonedEntries(store: Store, uuid: string): Map<string, JournalEntry> {
  const out = new Map<string, JournalEntry>();
  for (const rec of store.journal.listRecent(1000)) {
    if (rec.domainUuid !== uuid || rec.outcome !== 'abandoned') continue;
    const entry = loadEntry(store, rec.id);
    entry.steps.forEach((step, i) => {
      if (entry.progress[i] !== 'started' && entry.progress[i] !== 'done') return;
      for (const r of step.resources) if (r.kind === 'file-created' && typeof r.path === 'string') out.set(resolve(r.path), entry);
    });
  }
  return out;
}

function errorText(err: unknown): string {
  if (err instanceof VirError) return err.detail || err.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Why removing `path` could lose something, or undefined when it provably cannot: a
 * qcow2 overlay nobody has open, with no internal snapshots and no data of its own (it
 * presents exactly what its backing file presents).
 */
async function whyNotRemovable(path: string): Promise<string | undefined> {
  const notAFile = await checkImageFileType(path).then(() => undefined, (err: unknown) => errorText(err));
  if (notAFile !== undefined) return notAFile;
  if ((await readQcow2Backing(path)) === null) {
    return 'it is not a qcow2 overlay (a saved memory state or a copy) and may hold data you need; remove it yourself if you do not';
  }
  // Without -U: a process that has the image open holds its lock, and this fails.
  const info = await imageInfo(path, 'qcow2').catch((err: unknown) => errorText(err));
  if (typeof info === 'string') return `it cannot be opened exclusively (another process may use it): ${info}`;
  if (info.snapshots.length > 0) return `it holds ${info.snapshots.length} internal snapshot(s)`;
  const { stdout } = await runQemuImg(['map', '--output=json', '-f', 'qcow2', path]);
  const extents = JSON.parse(stdout) as Array<{ depth?: number; present?: boolean }>;
  if (extents.some((e) => e.depth === 0 && e.present === true)) {
    return 'it holds data of its own (written after its snapshot); remove it yourself if you do not need that data';
  }
  return undefined;
}

/**
 * Reports this domain's stray files; returns those `--repair` may remove. `needed` holds
 * every file some metadata names or some chain reads through (the running QEMUs' images
 * included); `dirs` are the directories scanned for images built on a candidate, where
 * the files some definition declares raw (or any format but qcow2) are never read.
 */
export async function findStrayFiles(
  store: Store, dom: CheckedDomain, needed: Set<string>, dirs: Set<string>, busy: Set<string>, findings: FindingList,
): Promise<RemovableFile[]> {
  const notImages = notQcow2Paths([...rootsByDomain(store).values()].flat());
  const abandoned = filesOfAbandonedEntries(store, dom.uuid);
  const candidates = new Set<string>([...dom.createdImages, ...abandoned.keys()]);
  const scanDirs = new Set([...dirs, ...[...candidates].map((p) => dirname(p))]);
  const removable = new Map<string, RemovableFile>();
  const pending = new Set<string>();
  for (const path of [...candidates].sort()) {
    if (!needed.has(path) && !busy.has(path) && (await pathExists(path))) pending.add(path);
  }
  // Until nothing changes: an overlay built only on files being removed (a revert overlay
  // under a forgotten snapshot's overlay) is stray too, once those are gone.
  for (let changed = true; changed;) {
    changed = false;
    for (const path of pending) {
      const children = (await findChildImages(path, scanDirs, notImages)).filter((c) => !removable.has(c));
      if (children.length > 0) continue;
      pending.delete(path);
      changed = true;
      const entry = abandoned.get(path);
      const origin = dom.createdImages.has(path)
        ? 'was created by snapvirt for this domain'
        : `was created by a ${entry!.kind} that was abandoned (journal entry ${entry!.id})`;
      const why = await whyNotRemovable(path);
      findings.add({
        kind: 'stray-file', subject: path, repairable: why === undefined,
        message: `file '${path}' ${origin}, but no metadata names it and no image is built on it`,
        ...(why === undefined ? {} : { reason: why }),
      });
      if (why === undefined) removable.set(path, { path, listed: dom.createdImages.has(path) });
    }
  }
  return [...removable.values()];
}

/**
 * Every file some domain's definitions or snapshots reach, through backing chains walked
 * only through images of known format (image-chain-walk.ts); `named` (everything the
 * metadata names, formats aside) is included as it is.
 */
export async function neededFiles(store: Store, named: Set<string>): Promise<Set<string>> {
  const roots = [...rootsByDomain(store).values()].flat();
  const out = await reachableFrom(roots, createdQcow2(store));
  for (const p of named) out.add(p);
  return out;
}

/** True when process `pid` is gone (a temporary file of a live process is still being written). */
function processIsGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Temporary files of durable writes of this domain's state (`locks/<uuid>.holder.tmp-PID`,
 * and `qemu-offline/.<uuid>.json.tmp-PID-X` of builds before the state moved into the
 * database) left by a process that died before renaming them into
 * place: the file they were replacing is intact, so they hold nothing anyone needs.
 */
export async function findTemporaryFiles(stateDir: string, uuid: string, findings: FindingList): Promise<string[]> {
  const patterns: Array<[string, RegExp]> = [
    [join(stateDir, 'qemu-offline'), new RegExp(`^\\.${uuid}\\.json\\.tmp-([0-9]+)-[0-9a-f]+$`)],
    [join(stateDir, 'locks'), new RegExp(`^${uuid}\\.holder\\.tmp-([0-9]+)$`)],
  ];
  const removable: string[] = [];
  for (const [dir, re] of patterns) {
    for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
      const m = re.exec(name);
      if (!m) continue;
      const path = join(dir, name);
      const pid = Number(m[1]);
      const gone = processIsGone(pid);
      findings.add({
        kind: 'stray-file', subject: path, repairable: gone,
        message: `temporary file '${path}' of an interrupted write of snapvirt's state (process ${pid}) was left behind; the file it was replacing is intact`,
        ...(gone ? {} : { reason: `process ${pid} that writes it is still running` }),
      });
      if (gone) removable.push(path);
    }
  }
  return removable;
}
