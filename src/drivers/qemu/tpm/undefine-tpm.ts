/**
 * What undefine does with a domain's vTPM state, as libvirt's qemuTPMEmulatorCleanupHost:
 * the state directory is removed unless the caller says --keep-tpm (--tpm removes it too;
 * libvirt's persistent_state, which inverts the default, is refused at define). Never a
 * refusal. Removed only once the definition is gone; the snapshots' TPM copies always go,
 * their metadata went with the definition.
 */
import { lstatSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DomainUndefineFlags as U } from '../../../api/flags.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { tpmOf } from '../domain/devices/tpm.js';
import { tpmStateDirFor } from './swtpm-process.js';
import { linkedGeneration } from './tpm-generation.js';

/** What to run once the definition of `def` (domain `uuid`) is gone, for undefine `flags`. */
export function planTpmUndefine(def: DomainDef, flags: number, stateDir: string, uuid: string): () => void {
  const dropCopies = (): void => rmSync(join(stateDir, 'tpm-snapshots', uuid), { recursive: true, force: true });
  if (!hasTpm(def) || (flags & U.KEEP_TPM)) return dropCopies;
  return () => {
    dropCopies();
    const path = tpmStateDirFor(stateDir, uuid);
    // Since a running revert the path is a link to the current generation (tpm-generation.ts): both go.
    if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) {
      rmSync(linkedGeneration(path), { recursive: true, force: true });
    }
    rmSync(path, { recursive: true, force: true });
  };
}

/** True when `def` has a TPM, even one this version would refuse: undefine must never fail on it. */
function hasTpm(def: DomainDef): boolean {
  try {
    return tpmOf(def) !== undefined;
  } catch {
    return true;
  }
}
