/**
 * Reading images for snapshot-check: each backing chain as it is on disk, layer by layer,
 * with what qemu-img says about every layer (format, backing link, internal tags), read
 * natively where image-inspect.ts can, cached per file, so images shared by many chains
 * are read once. Each layer is read as the format the metadata declares or its parent's
 * header records, never probed: a raw disk's content is its guest's and is never parsed.
 * Without a lock (qemu-img -U): a running QEMU may hold the images, and a check must never
 * wait for or disturb it.
 */
import { dirname, resolve } from 'node:path';
import { VirError } from '../../../api/errors.js';
import { realpath } from 'node:fs/promises';
import { checkImageFileType } from '../images/image-file-open.js';
import { inspectImage } from '../images/image-inspect.js';
import type { ImageInfo } from '../images/qemu-img.js';
import { pathExists } from '../images/path-exists.js';

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
    let fmt: string | undefined = format;
    while (path !== undefined) {
      if (path.startsWith('json:')) {
        out.push({ path, format: fmt ?? 'raw', problem: 'the backing file is a json: pseudo-file name, which snapshot-check cannot follow' });
        break;
      }
      const unique = await realpath(path).catch(() => path!);
      if (seen.has(unique)) {
        out.push({ path, format: fmt ?? 'raw', problem: 'the backing chain loops back to this image' });
        break;
      }
      seen.add(unique);
      if (fmt === undefined) {
        // Probing would let whoever writes this file's content choose how it is read.
        out.push({ path, format: 'an unrecorded format', problem: UNRECORDED_FORMAT });
        break;
      }
      const layer = await this.#layer(path, fmt);
      out.push(layer);
      if (!layer.info) break;
      path = backingPathOf(path, layer.info);
      fmt = layer.info.backingFormat;
    }
    return out;
  }

  async #layer(path: string, format: string): Promise<ImageLayer> {
    const cached = this.#infos.get(path);
    if (cached && cached.format === format) return { path, format, info: cached };
    if (!(await pathExists(path))) return { path, format, missing: true };
    try {
      // Read as the format the metadata or the parent's header gives, never probed; a FIFO,
      // socket or device is refused before it is opened; -U when qemu-img must answer.
      await checkImageFileType(path);
      const info = await inspectImage(path, format);
      this.#infos.set(path, info);
      return { path, format, info };
    } catch (err) {
      return { path, format, problem: errorText(err) };
    }
  }
}

/** Why a backing file whose format its parent does not record is not read (libvirt's advice). */
const UNRECORDED_FORMAT = 'its format is not recorded in the header of the image above it, and snapvirt never probes an image\'s format '
  + '(as libvirt: see https://libvirt.org/kbase/backing_chains.html)';
