/**
 * The one edit that switches a disk of a definition to another image: a snapshot's new
 * overlay, a revert's overlay or copy, a merge's base. What says where the disk's data
 * lives (source type, path, format) changes together, so no path leaves a disk naming a
 * new file with an old format, or a file with a block device's source type.
 */
import type { DiskSourceType, DomainDiskDef } from '../../../conf/domain-types.js';

/** Points `disk` at image `path` of `format`; the image is a regular file unless `type` says otherwise. */
export function pointDiskAt(disk: DomainDiskDef, path: string, format: string, type: DiskSourceType = 'file'): void {
  disk.type = type;
  disk.sourcePath = path;
  disk.format = format;
}

/**
 * Points every disk of `disks` whose image is `from` at `to` (of `format`), keeping each
 * disk's source type; true if any changed. A merge's base takes the place of the overlay
 * merged into it wherever a definition names that overlay.
 */
export function repointDisks(disks: readonly DomainDiskDef[], from: string, to: string, format: string): boolean {
  let changed = false;
  for (const disk of disks) {
    if (disk.sourcePath !== from) continue;
    pointDiskAt(disk, to, format, disk.type);
    changed = true;
  }
  return changed;
}
