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
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import type { Step } from '../../../txn/index.js';
import { firmwareOf } from '../domain/devices/firmware.js';
import { stateFileCaptureStep, stateFileRestoreStep } from './state-file-steps.js';

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
  return [stateFileCaptureStep('nvram.capture', async () => source, nvramCopyPath(stateDir, uuid, name))];
}

/**
 * The step that puts snapshot `name`'s NVRAM back into the NVRAM file of `target` (the
 * definition the revert leaves); none when the snapshot has no copy or `target` no NVRAM.
 */
export function nvramRestoreSteps(stateDir: string, uuid: string, target: DomainDef, name: string): Step[] {
  const path = firmwareOf(target)?.nvram?.path;
  const source = nvramCopyPath(stateDir, uuid, name);
  if (path === undefined || !existsSync(source)) return [];
  return [stateFileRestoreStep('nvram.restore', path, source)];
}

/**
 * The step that re-creates `target`'s NVRAM from its template instead (a revert that
 * starts a QEMU with --reset-nvram, as libvirt's start flag), in the same journal entry;
 * none without NVRAM, libvirt's error without a template.
 */
export function nvramResetSteps(target: DomainDef): Step[] {
  const fw = firmwareOf(target);
  if (fw?.nvram === undefined) return [];
  if (fw.nvram.template === undefined || !existsSync(fw.nvram.template)) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `unable to find any master var store for loader: ${fw.loader ?? ''}`);
  }
  return [stateFileRestoreStep('nvram.reset', fw.nvram.path, fw.nvram.template)];
}

/** The NVRAM copies of snapshots `names` that exist: a delete removes them after its commit. */
export function nvramCopiesOf(stateDir: string, uuid: string, names: readonly string[]): string[] {
  return names.map((n) => nvramCopyPath(stateDir, uuid, n)).filter((p) => existsSync(p));
}
