/**
 * The one-time import of the ownership files older builds kept beside the database
 * (`<stateDir>/qemu-offline/<uuid>.json`: the images snapvirt created for a domain and its
 * shut-off reason) into the created_images and shutoff_reasons tables. The import runs
 * inside the migration's transaction; the files are removed only after it committed, and
 * on every later open, so a crash in between leaves them for the next open to remove
 * (never imported twice: once the schema has the tables the files are stale by definition,
 * since a build that writes them refuses a database this new).
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { fsyncDir } from '../txn/fsync.js';

const DIR_NAME = 'qemu-offline';
const FILE_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

function stateFiles(stateDir: string): string[] {
  const dir = join(stateDir, DIR_NAME);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => FILE_NAME.test(n)).map((n) => join(dir, n));
}

/** Reads every old state file into the new tables; an unreadable file holds nothing (as the old reader had it). */
export function importOfflineStateFiles(db: Database.Database, stateDir: string): void {
  const addImage = db.prepare('INSERT OR IGNORE INTO created_images (domain_uuid, path) VALUES (?, ?)');
  const setReason = db.prepare('INSERT OR REPLACE INTO shutoff_reasons (domain_uuid, reason) VALUES (?, ?)');
  // The files were named by the lowercased UUID; the rows take the UUID as the domain has it.
  const spelled = db.prepare('SELECT uuid FROM domains WHERE lower(uuid) = ?').pluck();
  for (const file of stateFiles(stateDir)) {
    const named = file.slice(-41, -5);
    const uuid = (spelled.get(named) as string | undefined) ?? named;
    let raw: { createdImages?: unknown; shutoffReason?: unknown };
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as typeof raw;
    } catch {
      continue;
    }
    if (Array.isArray(raw.createdImages)) {
      for (const p of raw.createdImages) if (typeof p === 'string' && p !== '') addImage.run(uuid, resolve(p));
    }
    if (typeof raw.shutoffReason === 'number' && Number.isInteger(raw.shutoffReason)) setReason.run(uuid, raw.shutoffReason);
  }
}

/** Removes the old state files (imported, committed) and their directory once it is empty. */
export function removeImportedStateFiles(stateDir: string): void {
  const files = stateFiles(stateDir);
  const dir = join(stateDir, DIR_NAME);
  if (!existsSync(dir)) return;
  for (const f of files) unlinkSync(f);
  if (files.length > 0) fsyncDir(dir);
  if (readdirSync(dir).length === 0) {
    rmdirSync(dir);
    fsyncDir(stateDir);
  }
}
