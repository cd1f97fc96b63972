/**
 * Reading backing links without spawning qemu-img: the qcow2 header holds the backing
 * file name at a fixed place, so walking a chain, or finding every image that sits on top
 * of a given one (its "children"), is a few small reads.
 *
 * A header is read only from an image whose format snapvirt knows: declared by a
 * definition (`<driver type=…>`), recorded in the header of the image above it (the
 * backing format extension), or qcow2 because snapvirt created it. A raw disk's content
 * belongs to its guest, who can write a qcow2 header naming any host file as backing: it
 * is never parsed, and neither is a backing file whose format its parent does not record
 * (QEMU ≥ 6 and libvirt refuse to probe it too). Files are opened by openImageFile, so a
 * FIFO, socket or device named by a link is refused from its stat, never opened.
 */
import { readdir, lstat, realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { openImageFile } from './image-file-open.js';
import { readQcow2BackingLink } from './qcow2-header.js';

/** An image and the format snapvirt knows it has. */
export interface ImageRef {
  path: string;
  format: string;
}

/** A backing link read from a header: the format is undefined when the header records none. */
export interface BackingLink {
  /** Absolute path, or a json: pseudo-filename verbatim. */
  path: string;
  format?: string;
}

/**
 * The backing link of image `path` known to be `format`: undefined when it has none, or
 * when its format is not qcow2 (raw and every format snapvirt does not parse have no link
 * snapvirt may read), or when it cannot be opened as a regular file. Null when a file
 * declared qcow2 does not hold a qcow2 header.
 */
export async function readBackingLink(path: string, format: string): Promise<BackingLink | null | undefined> {
  if (format !== 'qcow2') return undefined;
  const handle = await openImageFile(path).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const link = await readQcow2BackingLink(handle, path);
    if (!link) return link;
    return link.backingFormat === undefined ? { path: link.fullBackingFilename } : { path: link.fullBackingFilename, format: link.backingFormat };
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

/**
 * The backing file of `path`, an image snapvirt created (qcow2 by construction), resolved
 * against its directory; null when the file is not qcow2, undefined when it has no backing.
 */
export async function readQcow2Backing(path: string): Promise<string | null | undefined> {
  const link = await readBackingLink(path, 'qcow2');
  return link === null ? null : link?.path;
}

/**
 * The paths some definition declares as anything but qcow2 (raw, another format, or none,
 * which is raw): files findChildImages never reads, even where another definition says
 * qcow2, since some guest writes their content.
 */
export function notQcow2Paths(roots: Iterable<{ path: string; format: string | undefined }>): Set<string> {
  const out = new Set<string>();
  for (const r of roots) if (r.format !== 'qcow2') out.add(resolve(r.path));
  return out;
}

/** One chain as far as snapvirt may read it. */
export interface WalkedChain {
  /** Top first. The last layer's format is undefined when its parent records none: it was not read. */
  layers: Array<{ path: string; format: string | undefined }>;
  /** Set when the chain loops: the layer met a second time (as its link names it) and its canonical path. */
  loop?: { path: string; canonical: string };
}

/** A path's canonical name for loop detection (the name itself when it cannot be resolved). */
async function canonical(path: string): Promise<string> {
  return realpath(path).catch(() => resolve(path));
}

/**
 * Walks the chain under `top` through headers snapvirt may read, stopping at a layer of
 * unknown or non-qcow2 format, a json: name, an unreadable file, or a layer met twice.
 */
export async function walkChain(top: ImageRef): Promise<WalkedChain> {
  const layers: WalkedChain['layers'] = [];
  const seen = new Set<string>();
  let current: { path: string; format: string | undefined } | undefined = { path: resolve(top.path), format: top.format };
  while (current) {
    const unique = await canonical(current.path);
    if (seen.has(unique)) return { layers, loop: { path: current.path, canonical: unique } };
    seen.add(unique);
    layers.push(current);
    if (current.format === undefined) break;
    const link = await readBackingLink(current.path, current.format);
    if (!link || link.path.startsWith('json:')) break;
    current = { path: link.path, format: link.format };
  }
  return { layers };
}

/** libvirt's error for a chain that loops (virStorageSourceGetMetadataRecurse). */
function selfReferentialError(loop: NonNullable<WalkedChain['loop']>): Error {
  return virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.STORAGE,
    `backing store for ${loop.path} (${loop.canonical}) is self-referential`);
}

/** Refuses (libvirt's error) when the chain under `top` loops; reads only what walkChain may. */
export async function refuseLoopingChain(top: ImageRef): Promise<void> {
  const { loop } = await walkChain(top);
  if (loop) throw selfReferentialError(loop);
}

/**
 * Refuses, with libvirt's errors, a chain qemu-img or QEMU could not open without probing
 * or at all: one that loops, or one with a backing file whose format its parent does not
 * record (qemu would probe it when it opens the chain, and whoever writes that file's
 * content, a guest when it is a raw disk, would choose how it is read). libvirt refuses
 * both wherever it reads a chain (virStorageSourceGetMetadataRecurse). The one check of
 * every path that has qemu-img or QEMU open a chain: offline create (internal and
 * external), offline internal revert, every QEMU spawn, and the merges of offline and running delete.
 * Nothing below the last layer walkChain may read is opened.
 */
export async function refuseUnsafeChain(top: ImageRef): Promise<void> {
  const { layers, loop } = await walkChain(top);
  if (loop) throw selfReferentialError(loop);
  const i = layers.findIndex((l) => l.format === undefined);
  if (i > 0) {
    throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.STORAGE,
      `format of backing image '${layers[i]!.path}' of image '${layers[i - 1]!.path}' was not specified in the image metadata `
      + '(See https://libvirt.org/kbase/backing_chains.html for troubleshooting)');
  }
}

/**
 * Refuses a definition with a disk whose chain, read as declared, loops: QEMU could never
 * open it (libvirt finds it at start; snapvirt says so at define, where it can be fixed).
 * With `check` refuseUnsafeChain, the check before QEMU is spawned (libvirt's at start).
 * Only file and block disks with a source are walked; a missing image is not an error here.
 */
export async function refuseLoopingDisks(def: DomainDef, check: (top: ImageRef) => Promise<void> = refuseLoopingChain): Promise<void> {
  for (const disk of def.disks) {
    if ((disk.type !== 'file' && disk.type !== 'block') || !disk.sourcePath) continue;
    await check({ path: disk.sourcePath, format: disk.format ?? 'raw' });
  }
}

/**
 * Every qcow2 file in `dirs` whose backing file is `image` (absolute paths, sorted).
 * `notImages` are files known not to be qcow2 (disks a definition declares raw or of
 * another format): their content is their guest's, so they are never read.
 */
export async function findChildImages(image: string, dirs: Iterable<string>, notImages: ReadonlySet<string> = new Set()): Promise<string[]> {
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
      if (notImages.has(path)) continue;
      try {
        if (!(await lstat(path)).isFile()) continue;
      } catch {
        continue;
      }
      if ((await readBackingLink(path, 'qcow2'))?.path === target) out.add(path);
    }
  }
  return [...out].sort();
}
