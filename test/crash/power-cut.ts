/**
 * A power cut, simulated: an ext4 file system on a loop-mounted image file, and cut(),
 * which replaces it by what the block device had received at that instant.
 *
 * The loop device writes to its image file through the image's page cache, so a copy of
 * the image file holds exactly the blocks the file system has sent down: whatever it has
 * written back or flushed (every fsync, every journal commit), and nothing that still sits
 * dirty in the file system's own page cache. Mounting that copy (ext4 replays its journal,
 * as after a real crash) shows the files as a machine would find them after losing power:
 * data that was written but never fsynced is gone. A SIGKILL alone loses nothing, which is
 * why the plain crash matrix cannot catch a missing fsync and this can.
 *
 * `commit=300` keeps ext4 from committing its journal on its own timer during a case, and
 * the kernel writes dirty pages back only after 30 s, longer than any case takes, so what
 * survives is what the code made durable. `data=writeback` stops a journal commit (say,
 * SQLite's fsync) from also writing other files' data, which would hide a missing fsync
 * of an overlay. ext4 still commits all metadata together, so a missing fsync of a
 * *directory* stays invisible here (XFS or btrfs would expose it). (A disk that acknowledges a flush it did not do
 * is out of scope: nothing in software can survive that.)
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MOUNT_OPTIONS = 'loop,commit=300,data=writeback';

/** A loop-mounted ext4 whose power can be cut. Root only. */
export interface LoopFs {
  /** Where the file system is mounted (the same path before and after a cut). */
  mountPoint: string;
  /** Makes everything written so far durable (syncfs), as a machine at rest would be. */
  settle(): Promise<void>;
  /** Cuts the power: from now on the mount point shows only what was durable. */
  cut(): Promise<void>;
  /** Back to the original image (with everything written to it), ready for the next case. */
  restore(): Promise<void>;
  destroy(): Promise<void>;
}

/** Creates a `sizeMiB` ext4 image under `dir` and mounts it at `<dir>/mnt`. */
export async function makeLoopFs(dir: string, sizeMiB = 96): Promise<LoopFs> {
  const image = join(dir, 'disk.img');
  const cutImage = join(dir, 'disk-after-power-cut.img');
  const mountPoint = join(dir, 'mnt');
  await mkdir(mountPoint, { recursive: true, mode: 0o700 });
  await run('truncate', ['-s', `${sizeMiB}M`, image]);
  await run('mkfs.ext4', ['-q', '-F', image]);
  await run('mount', ['-o', MOUNT_OPTIONS, image, mountPoint]);
  await run('chmod', ['0700', mountPoint]);
  let mounted: string | null = image;
  return {
    mountPoint,
    async settle() {
      await run('sync', ['-f', mountPoint]);
    },
    async cut() {
      await run('cp', ['--sparse=always', image, cutImage]);
      await run('umount', [mountPoint]);
      mounted = null;
      await run('mount', ['-o', MOUNT_OPTIONS, cutImage, mountPoint]);
      mounted = cutImage;
    },
    async restore() {
      if (mounted !== null) await run('umount', [mountPoint]);
      mounted = null;
      await rm(cutImage, { force: true });
      await run('mount', ['-o', MOUNT_OPTIONS, image, mountPoint]);
      mounted = image;
    },
    async destroy() {
      if (mounted !== null) await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]));
      mounted = null;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
