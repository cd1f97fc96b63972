/** Reading a user's XML file with libvirt's messages (virFileReadAll), for define/create/snapshot-create. */
import { readFile } from 'node:fs/promises';
import type { Control } from './control.js';
import { CommandAborted } from './option-values.js';

/** strerror(3) texts for the errno values file reads commonly hit. */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
  EIO: 'Input/output error',
};

/** The text of errno `code` as strerror prints it. */
export function strerror(code: string | undefined): string {
  return (code && STRERROR[code]) ?? code ?? 'Unknown error';
}

/** virsh's limit on an XML file (VSH_MAX_XML_FILE). */
const MAX_XML_FILE = 10 * 1024 * 1024;

/** Reads `path`; prints `Failed to open file` / `Failed to read file` and aborts on failure. */
export async function readXmlFile(ctl: Control, path: string): Promise<string> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const verb = code === 'EISDIR' || code === 'EIO' ? 'read' : 'open';
    ctl.error(`Failed to ${verb} file '${path}': ${strerror(code)}`);
    throw new CommandAborted();
  }
  if (data.length > MAX_XML_FILE) {
    ctl.error(`File '${path}' is too large`);
    throw new CommandAborted();
  }
  return data.toString('utf8');
}
