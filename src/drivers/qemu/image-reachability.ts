/**
 * Which image files the metadata still needs, and which snapvirt-created files an
 * operation may discard. An image is needed when the domain definition, a snapshot's
 * stored `<domain>` or an external snapshot's overlay names it, or when it is in the
 * backing chain of such an image. A file snapvirt created (offline-domain-state.ts) that
 * was needed before an operation and is not needed after it holds only state that
 * operation throws away (a revert overlay nobody snapshotted, the overlay of a deleted
 * snapshot whose branch was abandoned), so it is removed as part of the operation, after
 * the commit point. Without this, abandoned revert overlays pile up and keep the image
 * below them from ever being merged into again.
 */
import { resolve } from 'node:path';
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import type { DomainDef } from '../../conf/domain-types.js';
import type { SnapshotTree } from '../../snapshot/snapshot-tree.js';
import type { Store } from '../../store/index.js';
import { readQcow2Backing } from './chain-inspect.js';
import { readOfflineDomainState } from './offline-domain-state.js';
import { inspectImage } from './image-inspect.js';
import { pathExists } from './path-exists.js';

/** The image paths the domain definition and the snapshot metadata name (absolute). */
export function namedImages(domain: DomainDef | undefined, tree: SnapshotTree): Set<string> {
  const out = new Set<string>();
  const addDomain = (d: DomainDef | undefined): void => {
    for (const disk of d?.disks ?? []) if (disk.sourcePath) out.add(resolve(disk.sourcePath));
  };
  addDomain(domain);
  for (const node of tree.all()) {
    addDomain(node.def.domain);
    addDomain(node.def.inactiveDomain);
    for (const disk of node.def.disks) if (disk.snapshot === 'external' && disk.sourcePath) out.add(resolve(disk.sourcePath));
  }
  return out;
}

/** `images` plus every file in their qcow2 backing chains (read from the headers). */
export async function withBackingChains(images: Iterable<string>): Promise<Set<string>> {
  const out = new Set<string>();
  const queue = [...images];
  while (queue.length > 0) {
    const image = queue.pop()!;
    if (out.has(image)) continue;
    out.add(image);
    const backing = await readQcow2Backing(image);
    if (typeof backing === 'string' && !backing.startsWith('json:')) queue.push(backing);
  }
  return out;
}

/**
 * False when discardableImages() is sure to find nothing for domain `uuid`: snapvirt
 * created no image file for it (internal snapshots only), so no operation can discard one
 * and the trees it would compare need not be loaded.
 */
export function mayDiscardImages(store: Store, uuid: string): boolean {
  return readOfflineDomainState(store, uuid).createdImages.length > 0;
}

/**
 * The files snapvirt created for domain `uuid` that the metadata needs now (`before`: the
 * current state and every snapshot) and will not need once the operation commits
 * (`after`): the state the operation throws away. A file the metadata stopped naming by
 * other means (the user redefined the domain's disks) is not ours to judge and stays.
 */
export async function discardableImages(
  store: Store, uuid: string,
  before: { domain: DomainDef | undefined; tree: SnapshotTree },
  after: { domain: DomainDef | undefined; tree: SnapshotTree },
): Promise<string[]> {
  const created = readOfflineDomainState(store, uuid).createdImages.map((p) => resolve(p));
  if (created.length === 0) return [];
  const neededBefore = await withBackingChains(namedImages(before.domain, before.tree));
  const neededAfter = await withBackingChains(namedImages(after.domain, after.tree));
  const out: string[] = [];
  for (const path of created) {
    if (!neededBefore.has(path) || neededAfter.has(path) || !(await pathExists(path))) continue;
    await inspectImage(path, 'qcow2', { access: 'read' }).catch((e: unknown) => {
      throw e instanceof VirError
        ? virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `cannot use image '${path}': ${e.detail}`)
        : e;
    });
    out.push(path);
  }
  return out.sort();
}
