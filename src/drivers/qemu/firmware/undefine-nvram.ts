/**
 * What undefine does with a domain's NVRAM file, as libvirt's qemuDomainUndefineFlags: a
 * domain whose NVRAM file exists is refused unless the caller says --nvram (remove it) or
 * --keep-nvram (leave it). snapvirt decides before changing anything and removes the file
 * only once the definition is gone, so a refused or failed undefine loses nothing.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { unlinkIfPresent } from '../../../txn/index.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { DomainUndefineFlags as U } from '../../../api/flags.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { nvramPathOf } from '../domain/devices/firmware.js';

/**
 * Checks undefine `flags` against the NVRAM of `def` (domain `uuid`); returns what to run
 * once the definition is gone: the NVRAM file removed with --nvram, and always the
 * snapshots' NVRAM copies, whose metadata went with the definition.
 */
export function planNvramUndefine(def: DomainDef, flags: number, stateDir: string, uuid: string): () => void {
  const dropCopies = (): void => rmSync(join(stateDir, 'firmware', uuid), { recursive: true, force: true });
  const path = nvramPathOf(def);
  if (path === undefined || !existsSync(path)) return dropCopies;
  if (flags & U.NVRAM) {
    return () => {
      dropCopies();
      unlinkIfPresent(path);
    };
  }
  if (flags & U.KEEP_NVRAM) return dropCopies;
  throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'cannot undefine domain with nvram');
}
