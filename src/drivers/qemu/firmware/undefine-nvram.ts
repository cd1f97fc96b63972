/**
 * What undefine does with a domain's NVRAM file, as libvirt's qemuDomainUndefineFlags: a
 * domain whose NVRAM file exists is refused unless the caller says --nvram (remove it) or
 * --keep-nvram (leave it). snapvirt decides before changing anything and removes the file
 * only once the definition is gone, so a refused or failed undefine loses nothing.
 */
import { existsSync } from 'node:fs';
import { unlinkIfPresent } from '../../../txn/index.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { DomainUndefineFlags as U } from '../../../api/flags.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { nvramPathOf } from '../domain/devices/firmware.js';

/** Checks undefine `flags` against the NVRAM of `def`; returns what to run after the definition is gone. */
export function planNvramUndefine(def: DomainDef, flags: number): () => void {
  const path = nvramPathOf(def);
  if (path === undefined || !existsSync(path)) return () => undefined;
  if (flags & U.NVRAM) {
    return () => {
      unlinkIfPresent(path);
    };
  }
  if (flags & U.KEEP_NVRAM) return () => undefined;
  throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'cannot undefine domain with nvram');
}
