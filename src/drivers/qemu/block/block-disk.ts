/**
 * Which disk a block call means: libvirt's qemuDomainDiskByName takes the target (vda)
 * or the path of the disk's source, and reports "disk 'X' not found in domain" otherwise.
 */
import { resolve } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef, DomainDiskDef } from '../../../conf/domain-types.js';

/** The disk of `def` that `disk` names (target or source path). */
export function diskByName(def: DomainDef, disk: string): DomainDiskDef {
  const found = def.disks.find((d) => d.target === disk)
    ?? def.disks.find((d) => d.sourcePath !== undefined && resolve(d.sourcePath) === resolve(disk));
  if (!found) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.QEMU, `disk '${disk}' not found in domain`);
  return found;
}

/** libvirt's refusal of a second job on a disk (qemuDomainDiskBlockJobIsActive). */
export function diskHasJob(target: string): Error {
  return virError(VirErrorCode.BLOCK_COPY_ACTIVE, VirErrorDomain.QEMU, `disk '${target}' already in active block job`);
}

/** snapvirt's refusal of a libvirt option it does not model, naming it. */
export function blockOptionUnsupported(what: string): Error {
  return virError(VirErrorCode.OPERATION_UNSUPPORTED, VirErrorDomain.QEMU, `${what} is not supported by snapvirt`);
}
