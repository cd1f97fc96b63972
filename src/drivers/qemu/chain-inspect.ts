/**
 * Reading backing links without spawning qemu-img: the qcow2 header holds the backing
 * file name at a fixed place, so finding every image that sits on top of a given one (its
 * "children") is a cheap scan of a few directories. Used to refuse or avoid changes to an
 * image that another image (a snapshot's overlay, an abandoned branch) still reads through.
 */
import { open, readdir, lstat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

const QCOW2_MAGIC = 0x514649fb;

/**
 * The backing file stored in a qcow2 header, resolved against the image's directory;
 * null when the file is not qcow2, undefined when it has no backing file.
 */
export async function readQcow2Backing(path: string): Promise<string | null | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const header = Buffer.alloc(20);
    const { bytesRead } = await handle.read(header, 0, 20, 0);
    if (bytesRead < 20 || header.readUInt32BE(0) !== QCOW2_MAGIC) return null;
    const offset = Number(header.readBigUInt64BE(8));
    const size = header.readUInt32BE(16);
    if (offset === 0 || size === 0) return undefined;
    const name = Buffer.alloc(Math.min(size, 4096));
    await handle.read(name, 0, name.length, offset);
    const text = name.toString('utf8');
    // json: pseudo-filenames cannot be compared as paths; report them verbatim.
    return text.startsWith('json:') ? text : resolve(dirname(path), text);
  } finally {
    await handle.close();
  }
}

/** Every qcow2 file in `dirs` whose backing file is `image` (absolute paths, sorted). */
export async function findChildImages(image: string, dirs: Iterable<string>): Promise<string[]> {
  const target = resolve(image);
  const out = new Set<string>();
  for (const dir of new Set([...dirs].map((d) => resolve(d)))) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(dir, name);
      try {
        if (!(await lstat(path)).isFile()) continue;
      } catch {
        continue;
      }
      if ((await readQcow2Backing(path)) === target) out.add(path);
    }
  }
  return [...out].sort();
}
