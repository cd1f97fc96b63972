/**
 * Creating and removing external overlay files. The file is created by us first with
 * O_CREAT|O_EXCL and mode 0600, so an existing file is never overwritten, the mode is
 * never looser than 0600 (libvirt's CVE-2025-13193 made inactive overlays 0644), and the
 * error for an unwritable target is libvirt's "failed to create image file" text.
 */
import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fsyncFile } from '../../../txn/fsync.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { errnoCode, errnoText } from '../../../api/errno-text.js';
import { writeQcow2Overlay } from './qcow2-overlay.js';
import { convertImage, createImage, type BackingRef } from './qemu-img.js';

/**
 * Creates `path` empty with O_EXCL and mode 0600, so an existing file (maybe the user's) is
 * never overwritten; on failure the error is marked `nothingCreated` so no undo removes it.
 */
export async function claimNewFile(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  } catch (err) {
    const e = virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, `failed to create image file '${path}': ${errnoText(err)}`);
    throw Object.assign(e, { nothingCreated: true });
  }
  await handle.close();
}

/** Options of the creating functions: `claimed` when claimNewFile(path) already ran. */
export interface ClaimOptions {
  claimed?: boolean;
}

/**
 * Creates an empty qcow2 overlay at `path` on top of `backing`. The backing path is made
 * absolute first: a relative name in the header would be resolved against the overlay's
 * directory, not against where the domain's relative path meant.
 */
export async function createOverlayFile(path: string, givenBacking: BackingRef, opts: ClaimOptions = {}): Promise<void> {
  const backing: BackingRef = { path: resolve(givenBacking.path), format: givenBacking.format };
  if (!opts.claimed) await claimNewFile(path);
  try {
    // Native header writing saves one qemu-img process per disk (and fsyncs what it wrote);
    // qemu-img stays the fallback for backings whose size cannot be read natively (and
    // SNAPVIRT_NATIVE_QCOW2=0).
    const native = process.env.SNAPVIRT_NATIVE_QCOW2 !== '0' &&
      await writeQcow2Overlay(path, backing.path, backing.format).catch((err: unknown) => {
        throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, `failed to create image file '${path}': ${errnoText(err)}`);
      });
    if (!native) {
      await createImage({ path, format: 'qcow2', backing });
      fsyncFile(path);
    }
  } catch (err) {
    // The file is ours (O_EXCL succeeded): remove the partial overlay before reporting.
    await removeFileIfPresent(path);
    throw err;
  }
}

/**
 * Creates a new qcow2 image at `path` holding the data internal snapshot `tag` of `image`
 * presents, on top of `image`'s own backing file when it has one (so only the image's own
 * data is copied). Used to revert to an internal snapshot without changing `image`, which
 * other images read through. Same creation rules as createOverlayFile (O_EXCL, 0600).
 */
export async function createImageFromInternalSnapshot(
  path: string, image: string, tag: string, backing?: BackingRef, opts: ClaimOptions = {},
): Promise<void> {
  if (!opts.claimed) await claimNewFile(path);
  try {
    await convertImage({
      source: image, sourceFormat: 'qcow2', target: path, targetFormat: 'qcow2', snapshotName: tag,
      ...(backing ? { backing: { path: resolve(backing.path), format: backing.format } } : {}),
    });
    fsyncFile(path);
  } catch (err) {
    await removeFileIfPresent(path);
    throw err;
  }
}

/** Unlinks `path`; a file that is already gone is fine (undo and recovery are idempotent). */
export async function removeFileIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
