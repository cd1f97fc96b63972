/**
 * The domain's UEFI variable store: created from its template at the first start (mode
 * 0600, as libvirt's qemuPrepareNVRAMFile), re-created on request (--reset-nvram), and
 * written in place when a revert restores it, because a running QEMU keeps the file open
 * and a rename would leave it writing to the old inode.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { writeFileDurable } from '../../../txn/index.js';
import { firmwareOf } from '../domain/devices/firmware.js';

/** Creates the NVRAM file of `def` from its template when it is absent (or always, with `reset`). */
export function prepareNvramFile(def: DomainDef, reset = false): void {
  const nvram = firmwareOf(def)?.nvram;
  if (!nvram || (!reset && existsSync(nvram.path))) return;
  if (nvram.template === undefined) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU,
      `unable to find any master var store for loader: ${firmwareOf(def)?.loader ?? ''}`);
  }
  let data: Buffer;
  try {
    data = readFileSync(nvram.template);
  } catch (err) {
    throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU,
      `Failed to open file '${nvram.template}': ${(err as Error).message}`);
  }
  mkdirSync(dirname(nvram.path), { recursive: true, mode: 0o700 });
  writeFileDurable(nvram.path, data, 0o600);
}

/** Overwrites `path` in place with `data` (same inode) and makes it durable. */
export function overwriteInPlace(path: string, data: Buffer): void {
  const fd = openSync(path, constants.O_WRONLY);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off, off);
    ftruncateSync(fd, data.length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
