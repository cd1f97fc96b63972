/**
 * Opening a file snapvirt is about to read as a disk image, without letting the path pick
 * what kind of file it is. A path named by a backing link may be anything the image's
 * writer chose: a FIFO (an open for reading blocks until a writer appears, and tells a
 * waiting writer that someone opened it), a socket, a character device (/dev/zero never
 * ends, a tty has side effects). Such files are refused from their stat, before any open;
 * the open itself is non-blocking and the opened file is checked again (fstat), so a path
 * swapped for a FIFO between the two can neither block nor be read.
 */
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';

/** Options for {@link openImageFile} and {@link checkImageFileType}. */
export interface ImageFileOptions {
  /** Accept a block device too (only for a disk whose definition says `type='block'`). */
  allowBlock?: boolean;
}

/** Why `st` is not a file snapvirt reads as an image, or undefined when it is one. */
function refusal(st: Stats, opts: ImageFileOptions): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isBlockDevice()) return opts.allowBlock ? undefined : 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function notAnImage(path: string, what: string): Error {
  return virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.STORAGE,
    `'${path}' is ${what}, not a regular file: snapvirt does not open it as a disk image`);
}

/**
 * Refuses (VirError) a path that is not a regular file (or an allowed block device),
 * judged by stat alone: nothing is opened. A missing file passes (callers report it).
 */
export async function checkImageFileType(path: string, opts: ImageFileOptions = {}): Promise<void> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch {
    return;
  }
  const why = refusal(st, opts);
  if (why) throw notAnImage(path, why);
}

/**
 * Opens `path` read-only as an image file: regular files only (block devices when
 * allowed), never blocking, never a FIFO, socket or character device. Rejects with the
 * open's own error (ENOENT…) or with a VirError for a refused kind of file.
 */
export async function openImageFile(path: string, opts: ImageFileOptions = {}): Promise<FileHandle> {
  const before = refusal(await stat(path), opts);
  if (before) throw notAnImage(path, before);
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const after = refusal(await handle.stat(), opts);
    if (after) throw notAnImage(path, after);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}
