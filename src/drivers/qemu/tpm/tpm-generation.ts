/**
 * A revert of a running domain with a vTPM through a new QEMU. The old QEMU's swtpm holds
 * the domain's TPM state until the switch stops it, so the new QEMU gets a swtpm of its
 * own on a new generation of that state: `<stateDir>/tpm/<uuid>.gen-<hex>` (0700), seeded
 * with the snapshot's TPM copy (or, when the snapshot has none, with today's state, as a
 * revert of a shut-off domain keeps it). The domain's TPM path `<stateDir>/tpm/<uuid>`
 * is then a symlink to its current generation, and everything else (a start, a capture,
 * an offline restore, undefine) goes through that path.
 *
 * The commit points the link at the new generation: a new link renamed over the old one,
 * atomic, and idempotent, so recovery's roll forward does the very same. The old
 * generation is removed after the commit. A state directory of an older snapvirt (a real
 * directory, no link yet) becomes a generation of its own first, renamed at the commit
 * too (a kill between the rename and the link is finished by the roll forward). A rollback
 * removes the new generation; the link never moved.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { fsyncDir, fsyncFile, resourceString, type Resource, type Step, type TxnContext } from '../../../txn/index.js';
import { TPM2_STATE_FILE, tpmStateDirFor } from './swtpm-process.js';
import { tpmCopyPath } from './tpm-snapshot.js';

/** Journaled with the revert: how the commit points the domain's TPM path at the new generation. */
export interface TpmGenerationFlip {
  /** The domain's TPM path (tpmStateDirFor). */
  link: string;
  /** The new generation, where the new QEMU's swtpm runs. */
  to: string;
  /** For a state directory of an older snapvirt: the generation name it is renamed to first. */
  legacyTo: string | null;
}

/** Resource kind: a new generation directory; a rollback removes it with its files. */
export const TPM_GENERATION = 'tpm-generation';
/** Resource kind: the generation the commit left behind, removed after it. */
export const TPM_GENERATION_OBSOLETE = 'tpm-generation-obsolete';

/** A planned new generation: where it is, how the commit switches to it, its step and the old one's removal. */
export interface PlannedTpmGeneration {
  dir: string;
  flip: TpmGenerationFlip;
  step: Step;
  obsolete: Resource;
}

/** The generation the TPM path `link` (a symbolic link, relative to its directory) leads to. */
export function linkedGeneration(link: string): string {
  return resolve(dirname(link), readlinkSync(link));
}

function generationName(link: string): string {
  return `${link}.gen-${randomBytes(6).toString('hex')}`;
}

/** Plans a new TPM generation for running domain `uuid` reverting to snapshot `snapshot`; nothing is changed. */
export function planTpmGeneration(stateDir: string, uuid: string, snapshot: string): PlannedTpmGeneration {
  const link = tpmStateDirFor(stateDir, uuid);
  const isLink = lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() === true;
  const legacyTo = isLink ? null : generationName(link);
  const old = isLink ? linkedGeneration(link) : legacyTo!;
  const dir = generationName(link);
  const copy = tpmCopyPath(stateDir, uuid, snapshot);
  // Without a copy of the snapshot's own the TPM state stays as it is, as in a shut-off revert.
  const source = existsSync(copy) ? copy : join(link, TPM2_STATE_FILE);
  return {
    dir,
    flip: { link, to: dir, legacyTo },
    step: {
      name: 'tpm.generation',
      resources: [{ kind: TPM_GENERATION, path: dir }],
      durableWhenDone: true,
      async do() {
        mkdirSync(dir, { mode: 0o700 });
        const file = join(dir, TPM2_STATE_FILE);
        copyFileSync(source, file);
        fsyncFile(file);
        fsyncDir(dir);
        fsyncDir(dirname(dir));
      },
    },
    obsolete: { kind: TPM_GENERATION_OBSOLETE, path: old },
  };
}

/** Points the domain's TPM path at `flip.to` (inside the commit; idempotent). */
export function pointTpmAtGeneration(flip: TpmGenerationFlip): void {
  const st = lstatSync(flip.link, { throwIfNoEntry: false });
  if (st?.isSymbolicLink() && readlinkSync(flip.link) === basename(flip.to)) return;
  if (st?.isDirectory() && flip.legacyTo !== null) renameSync(flip.link, flip.legacyTo);
  // One name for the new link, so a kill before its rename leaves nothing behind that a retry does not reuse.
  const tmp = `${flip.link}.link-new`;
  rmSync(tmp, { force: true });
  symlinkSync(basename(flip.to), tmp);
  renameSync(tmp, flip.link);
  fsyncDir(dirname(flip.link));
}

/** Registers the generation resources on a driver's txn context. */
export function registerTpmGenerationHandlers(ctx: TxnContext): void {
  ctx.registry.registerResource(TPM_GENERATION, {
    async undo(r) {
      rmSync(resourceString(r, 'path'), { recursive: true, force: true });
    },
  });
  ctx.registry.registerResource(TPM_GENERATION_OBSOLETE, {
    async undo() {
      // Post-commit only: before the commit the old generation is the current one.
    },
    async finalize(r) {
      rmSync(resourceString(r, 'path'), { recursive: true, force: true });
    },
  });
}
