/**
 * The on-disk side effects of offline snapshot operations, as journal-able records: each
 * resource says what a step creates or changes and how to take it back (undo) or finish
 * it after the commit point (cleanup). Undo and cleanup are idempotent, because recovery
 * may run them after a crash at any instant, even twice.
 */
import { VirErrorCode, VirErrorDomain, virError } from '../../../api/errors.js';
import type { JsonValue } from '../../../txn/index.js';
import { dirname } from 'node:path';
import { fsyncDir } from '../../../txn/fsync.js';
import { removeFileIfPresent } from '../images/overlay-file.js';
import { readQcow2Backing } from '../images/chain-inspect.js';
import { inspectImage } from '../images/image-inspect.js';
import { commitImage, rebaseImage, snapshotApply, snapshotDelete } from '../images/qemu-img.js';
import { pathExists } from '../images/path-exists.js';

/** A file this operation creates (an overlay); undo removes it. */
export type CreatedFileResource = {
  kind: 'created-file';
  path: string;
};

/** An internal snapshot tag this operation adds to an image; undo deletes it. */
export type CreatedTagResource = {
  kind: 'created-tag';
  image: string;
  tag: string;
};

/**
 * An internal revert of an image to `tag`, with `undoTag` taken first as the way back:
 * undo applies and drops `undoTag`; cleanup (after commit) only drops it.
 */
export type AppliedTagResource = {
  kind: 'applied-tag';
  image: string;
  tag: string;
  undoTag: string;
};

/** A file this operation removes once committed (cleanup); undo has nothing to do. */
export type RemovedFileResource = {
  kind: 'removed-file';
  path: string;
};

/** A tag this operation removes once committed (cleanup); undo has nothing to do. */
export type RemovedTagResource = {
  kind: 'removed-tag';
  image: string;
  tag: string;
};

/**
 * After an external snapshot's metadata is gone: its overlay is merged into the image
 * below (base), the overlay's children are re-pointed at base, the metadata switched from
 * overlay to base, and the overlay removed. Every step keeps what each remaining image
 * presents unchanged, so stopping between any two is safe, and each step is idempotent.
 */
export type MergeOverlayResource = {
  kind: 'merge-overlay';
  domainUuid: string;
  overlay: string;
  base: string;
  baseFormat: string;
  children: string[];
  /**
   * A block commit's merge (blockcommit): the overlay file stays, as libvirt leaves it,
   * and snapshots naming it keep naming it (its view is unchanged); only the domain's
   * definitions move to the base.
   */
  keepOverlay?: boolean;
};

/** Any journaled disk side effect. */
export type DiskResource =
  | CreatedFileResource | CreatedTagResource | AppliedTagResource | RemovedFileResource | RemovedTagResource
  | MergeOverlayResource;

function jsonString(item: { readonly [field: string]: JsonValue }, field: string): string {
  const v = item[field];
  if (typeof v !== 'string') {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `journal resource '${String(item['kind'])}' lacks string field '${field}'`);
  }
  return v;
}

/**
 * A disk resource read back from the journal (JSON written by this driver), checked field
 * by field so a damaged entry fails with a clear error instead of being misread.
 */
export function diskResourceFromJson(value: JsonValue): DiskResource {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, 'journal resource is not an object');
  }
  const s = (field: string): string => jsonString(value, field);
  const kind = s('kind');
  switch (kind) {
    case 'created-file': case 'removed-file': return { kind, path: s('path') };
    case 'created-tag': case 'removed-tag': return { kind, image: s('image'), tag: s('tag') };
    case 'applied-tag': return { kind, image: s('image'), tag: s('tag'), undoTag: s('undoTag') };
    case 'merge-overlay': {
      const children = value['children'];
      if (!Array.isArray(children) || !children.every((c): c is string => typeof c === 'string')) {
        throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, "journal resource 'merge-overlay' lacks its children");
      }
      const keep = value['keepOverlay'] === true ? { keepOverlay: true } : {};
      return { kind, domainUuid: s('domainUuid'), overlay: s('overlay'), base: s('base'), baseFormat: s('baseFormat'), children, ...keep };
    }
    default:
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `unknown disk resource kind '${kind}' in the journal`);
  }
}

/** What cleanup needs beyond the disks: switching metadata from one image path to another. */
export interface CleanupContext {
  replaceImagePath(domainUuid: string, from: string, to: string, format: string): void;
}

async function hasTag(image: string, tag: string): Promise<boolean> {
  if (!(await pathExists(image))) return false;
  // With the lock check: a qemu-img still running on the image (one a killed snapvirt left
  // behind, say) makes this fail, and the undo is retried later instead of missing its tag.
  return (await inspectImage(image, 'qcow2', { access: 'read' })).snapshots.some((s) => s.name === tag);
}

/** Takes a resource back to how it was before the operation (idempotent). */
export async function undoResource(res: DiskResource): Promise<void> {
  switch (res.kind) {
    case 'created-file':
      // Absent (never created, or already undone): nothing to do, and its directory may not even exist.
      if (!(await pathExists(res.path))) return;
      await removeFileIfPresent(res.path);
      fsyncDir(dirname(res.path));
      return;
    case 'created-tag':
      if (await hasTag(res.image, res.tag)) await snapshotDelete(res.image, res.tag);
      return;
    case 'applied-tag':
      // No undo tag means the step never started changing the image.
      if (await hasTag(res.image, res.undoTag)) {
        await snapshotApply(res.image, res.undoTag);
        await snapshotDelete(res.image, res.undoTag);
      }
      return;
    case 'removed-file':
    case 'removed-tag':
    case 'merge-overlay':
      return;
  }
}

/** Finishes a resource after the commit point (idempotent). */
export async function cleanupResource(res: DiskResource, ctx: CleanupContext): Promise<void> {
  switch (res.kind) {
    case 'applied-tag':
      if (await hasTag(res.image, res.undoTag)) await snapshotDelete(res.image, res.undoTag);
      return;
    case 'removed-file':
      await removeFileIfPresent(res.path);
      return;
    case 'removed-tag':
      if (await hasTag(res.image, res.tag)) await snapshotDelete(res.image, res.tag);
      return;
    case 'merge-overlay':
      await mergeOverlay(res, ctx);
      return;
    case 'created-file':
    case 'created-tag':
      return;
  }
}

async function mergeOverlay(res: MergeOverlayResource, ctx: CleanupContext): Promise<void> {
  if (await pathExists(res.overlay)) {
    if ((await readQcow2Backing(res.overlay)) === res.base) {
      // -d keeps the overlay's own clusters: its view stays the same until it is removed.
      await commitImage(res.overlay, 'qcow2', { keepTop: true });
    }
    for (const child of res.children) {
      if ((await readQcow2Backing(child)) !== res.overlay) continue;
      // Unsafe is exact here: base now presents exactly what the overlay presented.
      await rebaseImage(child, 'qcow2', { backing: { path: res.base, format: res.baseFormat }, unsafe: true });
    }
  }
  ctx.replaceImagePath(res.domainUuid, res.overlay, res.base, res.baseFormat);
  if (res.keepOverlay) return;
  await removeFileIfPresent(res.overlay);
  fsyncDir(dirname(res.overlay));
}
