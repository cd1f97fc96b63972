/**
 * A comparable picture of what is on disk: directory listings (name, size, mode) and each
 * image's backing chain and internal snapshot tags, so tests can assert "nothing changed".
 */
import { execFile } from 'node:child_process';
import { readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Names of the entries of `dir` with mode and (unless `sizes` is false) size, sorted,
 * recursive. qcow2 files never shrink, so an undone internal snapshot leaves its image
 * larger with identical content: compare without sizes there and check chains instead.
 */
export async function listingOf(dir: string, opts: { sizes?: boolean } = {}): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, prefix: string): Promise<void> {
    for (const name of (await readdir(d)).sort()) {
      const st = await lstat(join(d, name));
      const size = st.isDirectory() ? 'dir' : opts.sizes === false ? 'file' : String(st.size);
      out.push(`${prefix}${name} ${(st.mode & 0o7777).toString(8)} ${size}`);
      if (st.isDirectory()) await walk(join(d, name), `${prefix}${name}/`);
    }
  }
  await walk(dir, '');
  return out;
}

/** Names of the entries of `dir` (no sizes: images grow when written, tags added). */
export async function namesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** `qemu-img info --backing-chain` of an image reduced to what must not change: files, formats, backings, tags. */
export async function chainOf(path: string, format: string): Promise<unknown[]> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', '--backing-chain', '-f', format, path]);
  const parsed = JSON.parse(stdout) as Array<Record<string, unknown>>;
  return parsed.map((o) => ({
    filename: o.filename,
    format: o.format,
    backing: o['backing-filename'],
    backingFormat: o['backing-filename-format'],
    snapshots: Array.isArray(o.snapshots) ? (o.snapshots as Array<Record<string, unknown>>).map((s) => s.name) : [],
  }));
}
