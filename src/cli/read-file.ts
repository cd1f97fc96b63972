/** Reading a user's XML file with libvirt's messages (virFileReadAll), for define/create/snapshot-create. */
import { open, type FileHandle } from 'node:fs/promises';
import { strerror } from '../api/errno-text.js';
import { decodeUtf8Escaped } from '../conf/utf8-bytes.js';
import type { Control } from './control.js';
import { CommandAborted } from './option-values.js';

/** virsh's limit on an XML file (VSH_MAX_XML_FILE). */
export const MAX_XML_FILE = 10 * 1024 * 1024;

/** A read that failed: whether open(2) or read(2) failed, and its errno name. */
export class FileReadError extends Error {
  constructor(readonly stage: 'open' | 'read', readonly code: string | undefined) {
    super(`${stage}: ${code ?? 'unknown error'}`);
  }
}

/**
 * The bytes of `path`, at most `maxBytes` of them, as libvirt's virFileReadLimFD reads:
 * one byte more than the limit is asked for, and getting it is EOVERFLOW. The limit holds
 * while reading, so a file that never ends (/dev/zero, a pipe kept open) costs nothing.
 */
export async function readFileLimited(path: string, maxBytes: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new FileReadError('open', (err as NodeJS.ErrnoException).code);
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(64 * 1024, maxBytes + 1 - total);
      const chunk = Buffer.allocUnsafe(want);
      let got: number;
      try {
        ({ bytesRead: got } = await handle.read(chunk, 0, want, null));
      } catch (err) {
        throw new FileReadError('read', (err as NodeJS.ErrnoException).code);
      }
      if (got === 0) return Buffer.concat(chunks, total);
      chunks.push(chunk.subarray(0, got));
      total += got;
      if (total > maxBytes) throw new FileReadError('read', 'EOVERFLOW');
    }
  } finally {
    await handle.close();
  }
}

/** Reads `path`; prints `Failed to open file` / `Failed to read file` and aborts on failure. */
export async function readXmlFile(ctl: Control, path: string): Promise<string> {
  let data: Buffer;
  try {
    data = await readFileLimited(path, MAX_XML_FILE);
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    ctl.error(`Failed to ${err.stage} file '${path}': ${strerror(err.code)}`);
    throw new CommandAborted();
  }
  return xmlTextOf(data);
}

/**
 * The text virsh would hand libvirt: a C string, so it ends at the first NUL byte, and its
 * bytes as they are (what is not UTF-8 stays as escaped bytes for the parser to refuse).
 */
export function xmlTextOf(data: Buffer): string {
  const nul = data.indexOf(0);
  return decodeUtf8Escaped(nul >= 0 ? data.subarray(0, nul) : data);
}
