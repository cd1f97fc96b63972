/**
 * Durability helpers (the only fsync code of snapvirt's own files: every directory sync
 * goes through fsyncDir). A rename is only durable once the directory holding it is fsynced
 * (neither the write-file-atomic package nor libvirt's virFileRewrite does
 * this), so every helper here ends by syncing the directory it changed.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync, constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** fsyncs a regular file's data and metadata. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs a directory, making the creations, renames and unlinks inside it durable. */
export function fsyncDir(path: string): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncs each distinct directory holding one of `paths` once (new entries of many files). */
export function fsyncDirsOf(paths: readonly string[]): void {
  for (const dir of new Set(paths.map((p) => dirname(p)))) fsyncDir(dir);
}

/**
 * Replaces `path` with `data` so that after a crash the file holds either the old or the
 * new content, never a mix: temp file (created with `mode`, O_EXCL) + fsync + rename +
 * fsync of the directory.
 */
export function writeFileDurable(path: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  // O_EXCL: never follow or reuse a file someone else put at the temp name.
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  fsyncDir(dir);
}
