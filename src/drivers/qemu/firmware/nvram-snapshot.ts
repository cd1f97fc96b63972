/**
 * The UEFI variable store inside snapshots, in the same journal entry as the disks:
 * a create copies the NVRAM file to `<stateDir>/firmware/<uuid>/<snapshot>.nvram`
 * (txn's 'file-created': undone by removing it), a revert writes that copy back over the
 * domain's NVRAM ('qemu-nvram-restored': the current bytes are kept in an undo copy first,
 * written back by undo, dropped after the commit), a delete removes the copy after the
 * commit (txn's 'file-obsolete'). Every kind of snapshot (internal or external, offline or
 * live, with or without memory) captures it the same way, so a revert never pairs old
 * disks with today's boot entries.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DomainDef } from '../../../conf/domain-types.js';
import {
  fsyncDir, fsyncFile, nothingCreated, resourceString, unlinkIfPresent, type Resource, type Step, type TxnContext,
} from '../../../txn/index.js';
import { firmwareOf } from '../domain/devices/firmware.js';
import { overwriteInPlace } from './nvram-file.js';

const RESTORED = 'qemu-nvram-restored';

/** Where snapshot `name` of domain `uuid` keeps its copy of the NVRAM. */
export function nvramCopyPath(stateDir: string, uuid: string, name: string): string {
  return join(stateDir, 'firmware', uuid, `${name}.nvram`);
}

/**
 * The step that copies the NVRAM of `domain` for snapshot `name` (none without NVRAM).
 * A store never written yet is captured as its template: that is what the next start uses.
 */
export function nvramCaptureSteps(stateDir: string, uuid: string, domain: DomainDef, name: string): Step[] {
  const nvram = firmwareOf(domain)?.nvram;
  const source = nvram && (existsSync(nvram.path) ? nvram.path : nvram.template);
  if (source === undefined) return [];
  const copy = nvramCopyPath(stateDir, uuid, name);
  // The first copy also makes firmware/ and firmware/<uuid>/: journaled, so a rollback takes them back too.
  const dirs = [dirname(dirname(copy)), dirname(copy)].filter((d) => !existsSync(d));
  return [{
    name: 'nvram.capture',
    resources: [...dirs.map((path): Resource => ({ kind: 'dir-created', path })), { kind: 'file-created', path: copy }],
    durableWhenDone: true,
    async do() {
      for (const d of dirs) mkdirSync(d, { recursive: true, mode: 0o700 });
      const data = readFileSync(source);
      // A copy whose snapshot has no metadata (checked before: the name is free) is a
      // leftover of metadata dropped without it (a transient domain that vanished): stale.
      unlinkIfPresent(copy);
      try {
        writeFileSync(copy, data, { flag: 'wx', mode: 0o600 });
      } catch (err) {
        // Someone else's file at our name: not ours to undo.
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw nothingCreated(err as Error);
        throw err;
      }
      fsyncFile(copy);
      fsyncDir(dirname(copy));
      for (const d of dirs) fsyncDir(dirname(d));
    },
  }];
}

/**
 * The step that puts snapshot `name`'s NVRAM back into the NVRAM file of `target` (the
 * definition the revert leaves); none when the snapshot has no copy or `target` no NVRAM.
 */
export function nvramRestoreSteps(stateDir: string, uuid: string, target: DomainDef, name: string): Step[] {
  const path = firmwareOf(target)?.nvram?.path;
  const source = nvramCopyPath(stateDir, uuid, name);
  if (path === undefined || !existsSync(source)) return [];
  if (!existsSync(path)) {
    return [{
      name: 'nvram.restore',
      resources: [{ kind: 'file-created', path }],
      async do() {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, readFileSync(source), { flag: 'wx', mode: 0o600 });
      },
    }];
  }
  const resource: Resource = { kind: RESTORED, path, source, backup: `${source}.undo` };
  return [{
    name: 'nvram.restore',
    resources: [resource],
    durableWhenDone: true,
    async do() {
      const backup = resourceString(resource, 'backup');
      const tmp = `${backup}.tmp`;
      // The undo copy appears complete or not at all (renamed into place once durable).
      writeFileSync(tmp, readFileSync(path), { mode: 0o600 });
      fsyncFile(tmp);
      renameSync(tmp, backup);
      fsyncDir(dirname(backup));
      overwriteInPlace(path, readFileSync(source));
    },
  }];
}

/** The NVRAM copies of snapshots `names` that exist: a delete removes them after its commit. */
export function nvramCopiesOf(stateDir: string, uuid: string, names: readonly string[]): string[] {
  return names.map((n) => nvramCopyPath(stateDir, uuid, n)).filter((p) => existsSync(p));
}

/** Registers 'qemu-nvram-restored': undo writes the undo copy back; finalize drops it. */
export function registerNvramHandlers(ctx: TxnContext): void {
  ctx.registry.registerResource(RESTORED, {
    async undo(r) {
      const path = resourceString(r, 'path');
      const backup = resourceString(r, 'backup');
      unlinkIfPresent(`${backup}.tmp`);
      // No undo copy: the step never reached the NVRAM file (it is written only after).
      if (!existsSync(backup)) return;
      overwriteInPlace(path, readFileSync(backup));
      unlinkIfPresent(backup);
      fsyncDir(dirname(backup));
    },
    async finalize(r) {
      const backup = resourceString(r, 'backup');
      unlinkIfPresent(`${backup}.tmp`);
      if (unlinkIfPresent(backup)) fsyncDir(dirname(backup));
    },
    files: (r) => [resourceString(r, 'path'), resourceString(r, 'source')],
  });
}
