/**
 * The one rule both deletes apply before merging an external snapshot's overlay into the
 * image below it (qemu-img commit when the domain is shut off, block-commit while it runs):
 * the merge must leave every remaining image's view exactly as it was. The two paths
 * differ only in where the facts come from (the images' headers, or the chain QEMU has
 * open) and in which children of the overlay they can re-point onto the base.
 */
import type { OtherDomainsReach } from '../../images/image-users.js';
import { mergeTouchesOthers, type DiscardPlan } from '../../images/image-reachability.js';
import type { ExternalLayer } from './external-layers.js';

/** What the rule needs to know about one layer, gathered by the path that merges it. */
export interface LayerFacts {
  /** The overlay's backing file now (its header, or the layer below it in QEMU's chain). */
  overlayBacking: string | undefined;
  /** Images whose backing is the base (the overlay among them), besides ones this delete discards. */
  baseChildren: readonly string[];
  /** Images whose backing is the overlay that this merge cannot re-point onto the base. */
  unrebasableChildren: readonly string[];
  /** The internal snapshots stored in the overlay; asked only once the cheaper facts allow the merge. */
  overlayTags(): Promise<readonly string[]>;
}

/**
 * Whether `layer` may be merged. A layer that may not keeps its files as they are (still
 * exact, only not compacted); when the reason is another domain, it is added to `kept`.
 */
export async function mayMerge(
  others: OtherDomainsReach, layer: ExternalLayer, facts: LayerFacts, kept: DiscardPlan['kept'],
): Promise<boolean> {
  // The overlay must still sit directly on the image the snapshot froze.
  if (facts.overlayBacking !== layer.base) return false;
  // Another child of the base would see the overlay's data appear under it.
  if (facts.baseChildren.some((c) => c !== layer.overlay)) return false;
  // A child left on the overlay would lose its backing file.
  if (facts.unrebasableChildren.length > 0) return false;
  // The merge writes into the base and removes the overlay: never under another domain's disk.
  if (await mergeTouchesOthers(others, layer.overlay, layer.base, kept)) return false;
  // The overlay disappears with the merge; a tag in it is another snapshot's only copy.
  return (await facts.overlayTags()).length === 0;
}
