/**
 * Two disks of one domain on the same image file cannot both be written: QEMU's image
 * locking stops such a domain from starting, and offline every snapshot would act on the
 * file twice (two tags of one name, a revert that can never succeed). snapvirt refuses the
 * definition up front; libvirt accepts it at define and only the start fails
 * (docs/COMPATIBILITY.md). Paths are compared by the file they name (device and inode),
 * so `a/../b`, a symlink or a second hard link is the same file; a file that does not
 * exist yet is compared by its resolved path.
 */
import { realpath, stat } from 'node:fs/promises';
import { dirname, basename, join, resolve } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef, DomainDiskDef } from '../../../conf/domain-types.js';
import { childElement } from '../../../conf/xml-tree.js';

/** Whether `disk` lets another disk use its file: read-only, or `<shareable/>` (QEMU's share-rw). */
function mayShareFile(disk: DomainDiskDef): boolean {
  return disk.readonly || childElement(disk.element, 'shareable') !== undefined;
}

/** What identifies the file at `path`: device and inode, or the resolved path of a file not there yet. */
async function fileIdentity(path: string): Promise<string> {
  try {
    const st = await stat(path);
    return `inode:${st.dev}:${st.ino}`;
  } catch {
    const absolute = resolve(path);
    const dir = await realpath(dirname(absolute)).catch(() => dirname(absolute));
    return `path:${join(dir, basename(absolute))}`;
  }
}

/**
 * Refuses `def` when two of its local disks (file or block) use the same file and not
 * both of them may share it, with VIR_ERR_CONFIG_UNSUPPORTED naming both disks.
 */
export async function refuseSharedDiskFiles(def: DomainDef): Promise<void> {
  const seen = new Map<string, DomainDiskDef>();
  for (const disk of def.disks) {
    if ((disk.type !== 'file' && disk.type !== 'block') || disk.sourcePath === undefined || disk.sourcePath === '') continue;
    const id = await fileIdentity(disk.sourcePath);
    const first = seen.get(id);
    if (first === undefined) {
      seen.set(id, disk);
      continue;
    }
    if (mayShareFile(first) && mayShareFile(disk)) continue;
    throw virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU,
      `disk '${disk.target}' uses the same file as disk '${first.target}' ('${first.sourcePath}'): ` +
      'disks may share a file only when each is read-only or <shareable/>');
  }
}
