/** Whether a path names something (following symlinks, as the images' users will). */
import { access } from 'node:fs/promises';

/** True when `path` exists; any error (ENOENT, EACCES on a parent, …) reads as absent. */
export async function pathExists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
