/**
 * Backing chains walked only through images whose format is known: the format a
 * definition declares, the one a qcow2 header records for its backing file, or qcow2 for
 * a file snapvirt created as such. An image of unknown format (a disk that declares none,
 * a backing link without a format) is counted as reached but never parsed, so a guest that
 * writes a qcow2 header into its raw disk cannot steer the walk; and only regular files
 * are opened (never a FIFO, device or socket), without blocking.
 */
import { resolve } from 'node:path';
import { readBackingLink } from './chain-inspect.js';

/** An image a definition or snapshot names, with the format it is known by (undefined: unknown, never parsed). */
export interface ImageRoot {
  path: string;
  /** The image format; MEMORY_STATE for a snapshot's memory file, which is reached but never an image. */
  format: string | undefined;
}

/**
 * The "format" of a root that is a snapshot's memory file (QEMU's migration stream of the
 * guest's RAM, guest-controlled data): never parsed as an image, whatever else says so
 * (snapvirt's list of files it created holds memory files beside its qcow2 overlays).
 */
export const MEMORY_STATE = 'memory-state';

/** The backing file and its recorded format of qcow2 image `path`; undefined when it has none or cannot be read as qcow2. */
async function backingOf(path: string): Promise<ImageRoot | undefined> {
  // chain-inspect.ts reads the link through openImageFile: a FIFO, socket or device is
  // refused from its stat, before any open (an open would wake a writer waiting on a FIFO).
  const link = await readBackingLink(path, 'qcow2');
  if (!link || link.path.startsWith('json:')) return undefined;
  return { path: link.path, format: link.format };
}

/**
 * Every file reachable from `roots` through backing chains (the roots included). An image
 * is parsed only when its format is qcow2 by the root's or the header's word, or when it is
 * in `knownQcow2` (files snapvirt created as qcow2).
 */
export async function reachableFrom(roots: Iterable<ImageRoot>, knownQcow2: ReadonlySet<string> = new Set()): Promise<Set<string>> {
  const reached = new Set<string>();
  const walked = new Set<string>();
  const queue = [...roots].map((r) => ({ path: resolve(r.path), format: r.format }));
  while (queue.length > 0) {
    const { path, format } = queue.pop()!;
    reached.add(path);
    const qcow2 = format === 'qcow2' || (format === undefined && knownQcow2.has(path));
    if (!qcow2 || walked.has(path)) continue;
    walked.add(path);
    const backing = await backingOf(path);
    if (backing) queue.push(backing);
  }
  return reached;
}
