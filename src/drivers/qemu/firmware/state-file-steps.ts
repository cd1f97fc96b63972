/**
 * Journaled copies of one state file that lives beside a domain's disks (the UEFI variable
 * store, the vTPM's permanent state): a snapshot's create copies it ('file-created',
 * undone by removing the copy, with 'dir-created' for the directories the first copy
 * makes), a revert writes the copy back over the file in place ('qemu-nvram-restored':
 * the current bytes are kept in an undo copy first, written back by undo, dropped after
 * the commit; the kind keeps its first name so that journals already written still replay).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  fsyncDir, fsyncFile, nothingCreated, resourceString, unlinkIfPresent, type Resource, type Step, type TxnContext,
} from '../../../txn/index.js';
import { overwriteInPlace } from './nvram-file.js';

const RESTORED = 'qemu-nvram-restored';

/**
 * The step named `name` that copies the file `source()` names (resolved when the step runs:
 * it may make the file first) to `copy`, making the copy's directory and its parent.
 */
export function stateFileCaptureStep(name: string, source: () => Promise<string>, copy: string): Step {
  // The first copy also makes the two directories above it: journaled, so a rollback takes them back too.
  const dirs = [dirname(dirname(copy)), dirname(copy)].filter((d) => !existsSync(d));
  return {
    name,
    resources: [...dirs.map((path): Resource => ({ kind: 'dir-created', path })), { kind: 'file-created', path: copy }],
    durableWhenDone: true,
    async do() {
      for (const d of dirs) mkdirSync(d, { recursive: true, mode: 0o700 });
      const data = readFileSync(await source());
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
  };
}

/** The step named `name` that writes the copy `source` back to `path` (created when absent). */
export function stateFileRestoreStep(name: string, path: string, source: string): Step {
  if (!existsSync(path)) {
    return {
      name,
      resources: [{ kind: 'file-created', path }],
      async do() {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, readFileSync(source), { flag: 'wx', mode: 0o600 });
      },
    };
  }
  const resource: Resource = { kind: RESTORED, path, source, backup: `${source}.undo` };
  return {
    name,
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
  };
}

/** Registers 'qemu-nvram-restored': undo writes the undo copy back; finalize drops it. */
export function registerStateFileHandlers(ctx: TxnContext): void {
  ctx.registry.registerResource(RESTORED, {
    async undo(r) {
      const path = resourceString(r, 'path');
      const backup = resourceString(r, 'backup');
      unlinkIfPresent(`${backup}.tmp`);
      // No undo copy: the step never reached the file (it is written only after).
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
