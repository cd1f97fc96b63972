/**
 * Resources: what an operation's steps create or change, described as plain data in the
 * journal (`{ kind: 'file-created', path }`), so recovery can undo them after a crash
 * without the closures that made them. Each kind has a handler: undo (idempotent,
 * tolerating absence), optionally persist (make durable before the commit point) and
 * finalize (idempotent post-commit work, such as removing a file the commit made obsolete).
 */
import { rmdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import { fsyncDir, fsyncFile } from './fsync.js';

/** A JSON value, as stored in the journal. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A resource a step creates or changes, as data. `kind` selects its handler. */
export interface Resource {
  readonly kind: string;
  readonly [field: string]: JsonValue;
}

/** What the engine can do with one kind of resource. */
export interface ResourceHandler {
  /** Reverts the step's effect on the resource. Idempotent: absence means already undone. */
  undo(resource: Resource): Promise<void>;
  /** Makes the resource durable before the commit point (fsync). */
  persist?(resource: Resource): Promise<void>;
  /** Post-commit work, run after commit and again by recovery until it succeeds; idempotent. */
  finalize?(resource: Resource): Promise<void>;
  /**
   * The files the resource names (created, changed, merged, removed): while its post-commit
   * work is pending, other operations touching them are refused (pending-work.ts).
   */
  files?(resource: Resource): string[];
}

/** Reads a string field of a resource, or throws naming the resource. */
export function resourceString(resource: Resource, field: string): string {
  const v = resource[field];
  if (typeof v !== 'string' || v === '') {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE,
      `journal resource of kind '${resource.kind}' lacks string field '${field}'`);
  }
  return v;
}

/** Removes `path`; false when it was already absent. */
export function unlinkIfPresent(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** `{ kind: 'file-created', path }`: a file the step created (absent before). Undo unlinks it. */
export const fileCreatedHandler: ResourceHandler = {
  async undo(resource) {
    const path = resourceString(resource, 'path');
    if (unlinkIfPresent(path)) fsyncDir(dirname(path));
  },
  async persist(resource) {
    const path = resourceString(resource, 'path');
    fsyncFile(path);
    fsyncDir(dirname(path));
  },
  files: (resource) => [resourceString(resource, 'path')],
};

/** `{ kind: 'dir-created', path }`: a directory the step created. Undo removes it if empty. */
export const dirCreatedHandler: ResourceHandler = {
  async undo(resource) {
    const path = resourceString(resource, 'path');
    try {
      rmdirSync(path);
      fsyncDir(dirname(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  },
  async persist(resource) {
    const path = resourceString(resource, 'path');
    fsyncDir(path);
    fsyncDir(dirname(path));
  },
};

/**
 * `{ kind: 'file-obsolete', path }`: a file the commit makes unused (a merged overlay).
 * Nothing to undo; removed after the commit, so a rollback never loses it.
 */
export const fileObsoleteHandler: ResourceHandler = {
  async undo() {
    // The file is only removed after the commit point; before it, it is still needed.
  },
  async finalize(resource) {
    const path = resourceString(resource, 'path');
    if (unlinkIfPresent(path)) fsyncDir(dirname(path));
  },
  files: (resource) => [resourceString(resource, 'path')],
};

/** The built-in resource kinds every registry starts with. */
export const BUILTIN_RESOURCE_HANDLERS: Readonly<Record<string, ResourceHandler>> = Object.freeze({
  'file-created': fileCreatedHandler,
  'dir-created': dirCreatedHandler,
  'file-obsolete': fileObsoleteHandler,
});
