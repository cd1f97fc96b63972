/**
 * The free space an internal snapshot of shut-off qcow2 disks needs, checked before the
 * first tag is written. `qemu-img snapshot -c` allocates a copy of the active L1 table
 * and a new snapshot table (plus refcount blocks for them); undoing it with
 * `snapshot -d` writes yet another snapshot table before it frees the old one. Without
 * this check a full file system could take the tag on one disk, refuse it on the next,
 * and then refuse the undo too: the journal entry would stay open and the domain refuse
 * every operation until space was freed. So the whole need of every image on a file
 * system, for the snapshot and for undoing it, must be free before anything is touched.
 * The estimate counts whole clusters and is never below what qemu-img writes.
 */
import { stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { openImageFile } from './image-file-open.js';

/** One image that gets a new tag. */
export interface TaggedImage {
  image: string;
  tag: string;
}

/** qcow2's snapshot table entry: a 40-byte fixed part, then extra data, id and name, padded to 8. */
const ENTRY_FIXED = 40;
/** Room for the extra data QEMU writes (24 bytes in 7.2) and a decimal id, with margin. */
const NEW_ENTRY_EXTRA = 64 + 16;
/** Refcount blocks and a refcount table move the new clusters may need. */
const REFCOUNT_SLACK_CLUSTERS = 3;

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/** Bytes that creating tag `tag` in qcow2 `image`, and deleting it again, can allocate. */
export async function internalSnapshotNeed(image: string, tag: string): Promise<number> {
  const fh = await openImageFile(image);
  try {
    const header = Buffer.alloc(72);
    await fh.read(header, 0, 72, 0);
    if (header.readUInt32BE(0) !== 0x514649fb) return 0; // not qcow2: qemu-img reports it
    const clusterSize = 2 ** header.readUInt32BE(20);
    const l1Size = header.readUInt32BE(36);
    const count = header.readUInt32BE(60);
    let offset = Number(header.readBigUInt64BE(64));
    let table = 0;
    const fixed = Buffer.alloc(ENTRY_FIXED);
    for (let i = 0; i < count; i++) {
      await fh.read(fixed, 0, ENTRY_FIXED, offset);
      const size = align8(ENTRY_FIXED + fixed.readUInt32BE(36) + fixed.readUInt16BE(12) + fixed.readUInt16BE(14));
      table += size;
      offset += size;
    }
    table += align8(ENTRY_FIXED + NEW_ENTRY_EXTRA + Buffer.byteLength(tag));
    const clusters = (bytes: number): number => Math.ceil(bytes / clusterSize);
    // The L1 copy, the new table (create), another new table (the undo's delete), refcounts.
    return clusterSize * (clusters(l1Size * 8) + 2 * clusters(table) + REFCOUNT_SLACK_CLUSTERS);
  } finally {
    await fh.close();
  }
}

/**
 * Throws a VirError naming the file system when the images on it do not have the room
 * their new tags (and the undo of them) need together. Changes nothing.
 */
export async function checkInternalSnapshotSpace(snapshot: string, images: readonly TaggedImage[]): Promise<void> {
  const byDevice = new Map<number, { dir: string; need: number }>();
  for (const { image, tag } of images) {
    const dev = (await stat(image)).dev;
    const entry = byDevice.get(dev) ?? { dir: dirname(image), need: 0 };
    entry.need += await internalSnapshotNeed(image, tag);
    byDevice.set(dev, entry);
  }
  for (const { dir, need } of byDevice.values()) {
    const fs = await statfs(dir);
    const free = fs.bavail * fs.bsize;
    if (free < need) {
      throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU,
        `cannot create internal snapshot '${snapshot}': No space left on device: its images on the file system of '${dir}' ` +
        `need ${Math.ceil(need / 1024)} KiB free (to take the snapshot and to undo it), ${Math.floor(free / 1024)} KiB are free`);
    }
  }
}
