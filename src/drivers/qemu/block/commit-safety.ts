/**
 * What a block commit must not break, checked before anything moves. A commit writes the
 * dropped layers' data into the base, so every image whose chain reaches the base or a
 * layer between it and the top, but not the top itself, would see other data: a snapshot
 * that needs such an image (its frozen disk, or an overlay built on it), another domain
 * using it, or an image built on it outside this chain. Each refuses the commit, naming
 * who needs what; so snapshot metadata stays true. With DELETE, the dropped files
 * themselves must be reached by nobody else either.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import type { SnapshotTree } from '../../../snapshot/snapshot-tree.js';
import { findChildImages } from '../images/chain-inspect.js';
import { reachableFrom, type ImageRoot } from '../images/image-chain-walk.js';
import { rootsOf, snapshotRoots, usersText, type OtherDomainsReach } from '../images/image-users.js';
import type { CommitPlan } from './commit-plan.js';

/** Where the checks look: this domain's persistent definition and snapshots, others, and image directories. */
export interface CommitSurroundings {
  persistent: DomainDef | undefined;
  tree: SnapshotTree;
  others: OtherDomainsReach;
  knownQcow2: ReadonlySet<string>;
  dirs: Iterable<string>;
  notImages: ReadonlySet<string>;
  /** Every file of the disk's running chain (children inside it are re-pointed by QEMU). */
  chainFiles: readonly string[];
}

function refused(plan: CommitPlan, why: string): Error {
  return virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, `cannot commit '${plan.top}' into '${plan.base}': ${why}`);
}

/** Throws when the commit of `plan` (with `deleting`: DELETE) would change or remove what someone needs. */
export async function refuseUnsafeCommit(plan: CommitPlan, s: CommitSurroundings, deleting: boolean): Promise<void> {
  const changed = [plan.base, ...plan.dropped.slice(1)];
  const removed = deleting ? plan.dropped : [];
  const guarded = [...changed, ...removed];
  // Each image on its own: a snapshot's overlay may sit above the top while its frozen disk is the base.
  const needs = async (roots: readonly ImageRoot[]): Promise<string | undefined> => {
    for (const root of roots) {
      // A layer above the top keeps its view, and its chain now leads to the base directly.
      if (plan.above.includes(root.path)) continue;
      const reach = await reachableFrom([root], s.knownQcow2);
      // An image above the top keeps its view: the top's data still hides what the base gained.
      if (reach.has(plan.top) && !deleting) continue;
      const hit = guarded.find((f) => reach.has(f));
      if (hit !== undefined) return hit;
    }
    return undefined;
  };
  for (const node of s.tree.all()) {
    const hit = await needs(snapshotRoots(node.def));
    if (hit !== undefined) throw refused(plan, `snapshot '${node.def.name}' needs image '${hit}'`);
  }
  if (s.persistent) {
    const hit = await needs(rootsOf(s.persistent, undefined).filter((r) => r.path !== plan.top));
    if (hit !== undefined) throw refused(plan, `the persistent definition needs image '${hit}'`);
  }
  for (const [path, names] of await s.others.usersOf(guarded)) {
    throw refused(plan, `image '${path}' is shared: ${usersText(names)}`);
  }
  for (const layer of guarded) {
    const outside = (await findChildImages(layer, s.dirs, s.notImages)).filter((c) => !s.chainFiles.includes(c));
    if (outside.length > 0) throw refused(plan, `image '${outside[0]}' is built on '${layer}'`);
  }
}
