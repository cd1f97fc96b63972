/**
 * The vTPM's state inside offline snapshots, in the same journal entry as the disks and
 * the NVRAM: a shut-off TPM 2.0 keeps everything in swtpm's permanent state file
 * (tpm2-00.permall; the volatile and save states exist only while swtpm runs or migrates),
 * so a create copies that file to `<stateDir>/tpm-snapshots/<uuid>/<snapshot>.permall`,
 * a revert writes it back in place, a delete removes the copy after the commit. A running
 * swtpm keeps that file current as the TPM's non-volatile state changes, so a live disk-only
 * snapshot copies it too; a snapshot with a memory state also holds the TPM's whole state in
 * the machine state (QEMU takes it from swtpm), loaded back with it. A revert of a running
 * domain through a new QEMU gives the new swtpm a new generation of the state instead
 * (tpm-generation.ts): the old swtpm holds the state until the switch.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DomainDef } from '../../../conf/domain-types.js';
import type { Step } from '../../../txn/index.js';
import { tpmOf } from '../domain/devices/tpm.js';
import { stateFileCaptureStep, stateFileRestoreStep } from '../firmware/state-file-steps.js';
import { manufactureTpmState, TPM2_STATE_FILE, tpmStateDirFor } from './swtpm-process.js';

/** Where snapshot `name` of domain `uuid` keeps its copy of the TPM state. */
export function tpmCopyPath(stateDir: string, uuid: string, name: string): string {
  return join(stateDir, 'tpm-snapshots', uuid, `${name}.permall`);
}

/**
 * The step copying the TPM state of shut-off `domain` for snapshot `name` (none without a
 * TPM). A TPM never started is manufactured first: the copy is what its first start would use.
 */
export function tpmCaptureSteps(stateDir: string, uuid: string, domain: DomainDef, name: string): Step[] {
  if (!tpmOf(domain)) return [];
  return [stateFileCaptureStep('tpm.capture', () => manufactureTpmState(domain, tpmStateDirFor(stateDir, uuid)), tpmCopyPath(stateDir, uuid, name))];
}

/** The step putting snapshot `name`'s TPM state back (none when it has no copy or `target` no TPM). */
export function tpmRestoreSteps(stateDir: string, uuid: string, target: DomainDef, name: string): Step[] {
  const source = tpmCopyPath(stateDir, uuid, name);
  if (!tpmOf(target) || !existsSync(source)) return [];
  return [stateFileRestoreStep('tpm.restore', join(tpmStateDirFor(stateDir, uuid), TPM2_STATE_FILE), source)];
}

/** The TPM state copies of snapshots `names` that exist: a delete removes them after its commit. */
export function tpmCopiesOf(stateDir: string, uuid: string, names: readonly string[]): string[] {
  return names.map((n) => tpmCopyPath(stateDir, uuid, n)).filter((p) => existsSync(p));
}
