/**
 * Reading images for snapshot-check: each backing chain as it is on disk, layer by layer,
 * with what qemu-img says about every layer (format, backing link, internal tags). One
 * `qemu-img info --backing-chain` per chain top, cached per file, so images shared by many
 * chains are read once; when a chain is broken, the layers are read one by one to find
 * exactly which file is missing or unreadable. Always with -U: a running QEMU may hold
 * the images, and a check must never wait for or disturb it.
 */
import { dirname, resolve } from 'node:path';
import { VirError } from '../../api/errors.js';
import { readQcow2Backing } from './chain-inspect.js';
import { backingChain, imageInfo, type ImageInfo } from './qemu-img.js';
import { pathExists } from './path-exists.js';

/** One layer of a chain as found on disk. */
export interface ImageLayer {
  /** Absolute path. */
  path: string;
  /** The format the layer was opened with (the metadata's, or the header's backing format). */
  format: string;
  /** What qemu-img reported; undefined when the file is missing or unreadable. */
  info?: ImageInfo;
  missing?: boolean;
  /** Why the layer could not be read (qemu-img's words). */
  problem?: string;
}

function errorText(err: unknown): string {
  if (err instanceof VirError) return err.detail || err.message;
  return err instanceof Error ? err.message : String(err);
}

/** The absolute backing path recorded in `info` of the image at `path`, or undefined. */
export function backingPathOf(path: string, info: ImageInfo): string | undefined {
  if (info.backingFilename === undefined || info.backingFilename === '') return undefined;
  if (info.backingFilename.startsWith('json:')) return info.backingFilename;
  return resolve(dirname(path), info.backingFilename);
}

/** Reads and caches image chains. One per check. */
export class ImageInspector {
  readonly #infos = new Map<string, ImageInfo>();
  readonly #chains = new Map<string, Promise<ImageLayer[]>>();

  /** Every image read so far, with its info (for the internal-tag scan). */
  images(): Array<{ path: string; info: ImageInfo }> {
    return [...this.#infos].map(([path, info]) => ({ path, info }));
  }

  /** The chain starting at `top` (opened as `format`), top first, ending at a base or a broken layer. */
  chain(top: string, format: string): Promise<ImageLayer[]> {
    const key = `${resolve(top)}\0${format}`;
    let pending = this.#chains.get(key);
    if (!pending) this.#chains.set(key, (pending = this.#readChain(resolve(top), format)));
    return pending;
  }

  async #readChain(top: string, format: string): Promise<ImageLayer[]> {
    const out: ImageLayer[] = [];
    const seen = new Set<string>();
    let path: string | undefined = top;
    let fmt = format;
    while (path !== undefined) {
      if (path.startsWith('json:')) {
        out.push({ path, format: fmt, problem: 'the backing file is a json: pseudo-file name, which snapshot-check cannot follow' });
        break;
      }
      if (seen.has(path)) {
        out.push({ path, format: fmt, problem: 'the backing chain loops back to this image' });
        break;
      }
      seen.add(path);
      const layer = await this.#layer(path, fmt);
      out.push(layer);
      if (!layer.info) break;
      path = backingPathOf(path, layer.info);
      if (path !== undefined) fmt = layer.info.backingFormat ?? await probedFormat(path);
    }
    return out;
  }

  async #layer(path: string, format: string): Promise<ImageLayer> {
    const cached = this.#infos.get(path);
    if (cached && cached.format === format) return { path, format, info: cached };
    if (!(await pathExists(path))) return { path, format, missing: true };
    try {
      // The whole chain in one process; cached per layer for the next chain through it.
      const infos = await backingChain(path, format, { forceShare: true });
      let layerPath: string | undefined = path;
      for (const info of infos) {
        if (layerPath === undefined) break;
        if (!this.#infos.has(layerPath)) this.#infos.set(layerPath, info);
        layerPath = backingPathOf(layerPath, info);
      }
      return { path, format, info: infos[0]! };
    } catch {
      // Broken further down (or here): read this layer alone to tell which.
      try {
        const info = await imageInfo(path, format, { forceShare: true });
        this.#infos.set(path, info);
        return { path, format, info };
      } catch (err) {
        return { path, format, problem: errorText(err) };
      }
    }
  }
}

/** The format of a backing file whose overlay does not record one: qcow2 by its magic, else raw. */
async function probedFormat(path: string): Promise<string> {
  return (await readQcow2Backing(path)) === null ? 'raw' : 'qcow2';
}
