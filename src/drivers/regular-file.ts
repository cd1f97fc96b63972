/** The filesystem fact disk alignment asks of every driver (snapshot/ does no I/O itself). */
import { statSync } from 'node:fs';

/** True when `path` is an existing regular file (following symlinks, as libvirt's stat()). */
export function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
