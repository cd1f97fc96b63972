/**
 * Which snapvirt-created files an operation may discard. A file snapvirt created for the
 * domain (domain-state.ts) that the domain's state needed before the operation and
 * will not need after it holds only state that operation throws away (a revert overlay
 * nobody snapshotted, the overlay of a deleted snapshot whose branch was abandoned), so it
 * is removed as part of the operation, after the commit point. Without this, abandoned
 * revert overlays pile up and keep the image below them from ever being merged into again.
 *
 * "Needed" is judged over the whole state directory, never this domain alone: a file that
 * any other domain's definition (persistent or live) or any snapshot of any domain reaches
 * through a backing chain is kept and reported, whoever created it (image-users.ts). Chains
 * are walked only through images whose format is known (image-chain-walk.ts).
 */
import { VirError, virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import type { SnapshotTree } from '../../../snapshot/snapshot-tree.js';
import type { Store } from '../../../store/index.js';
import { MEMORY_STATE, reachableFrom } from './image-chain-walk.js';
import { inspectImage } from './image-inspect.js';
import { createdQcow2, OtherDomainsReach, rootsOf, usersText } from './image-users.js';
import { readOfflineDomainState } from '../catalog/domain-state.js';
import { pathExists } from './path-exists.js';

/**
 * False when discardableImages() is sure to find nothing for domain `uuid`: snapvirt
 * created no image file for it (internal snapshots only), so no operation can discard one
 * and the trees it would compare need not be loaded.
 */
export function mayDiscardImages(store: Store, uuid: string): boolean {
  return readOfflineDomainState(store, uuid).createdImages.length > 0;
}

/** A domain state: its definition and its snapshots. */
export interface DomainWithSnapshots {
  domain: DomainDef | undefined;
  tree: SnapshotTree | undefined;
}

/** What an operation discards, and what it would have discarded but keeps because someone else uses it. */
export interface DiscardPlan {
  discard: string[];
  kept: Array<{ path: string; why: string }>;
}

/**
 * The files snapvirt created for domain `uuid` that its state needed `before` and will not
 * need `after` the operation, and that nothing else reaches. `probeLocks`: also keep a file
 * another process has open (offline operations; a running revert's own QEMU still holds
 * them when this is decided). A file the metadata stopped naming by other means (the user
 * redefined the domain's disks) is not ours to judge and stays. `others` is what the other
 * domains reach, shared with the operation's merge decisions (mergeTouchesOthers).
 */
export async function discardableImages(
  store: Store, uuid: string, before: DomainWithSnapshots, after: DomainWithSnapshots,
  opts: { probeLocks: boolean; others?: OtherDomainsReach } = { probeLocks: true },
): Promise<DiscardPlan> {
  const created = readOfflineDomainState(store, uuid).createdImages;
  if (created.length === 0) return { discard: [], kept: [] };
  const known = createdQcow2(store);
  const rootsBefore = rootsOf(before.domain, before.tree);
  const neededBefore = await reachableFrom(rootsBefore, known);
  // A memory file is no image: nothing opens it as one, so there is no lock to probe.
  const memoryFiles = new Set(rootsBefore.filter((r) => r.format === MEMORY_STATE).map((r) => r.path));
  const neededAfter = await reachableFrom(rootsOf(after.domain, after.tree), known);
  const candidates: string[] = [];
  for (const path of created) {
    if (neededBefore.has(path) && !neededAfter.has(path) && (await pathExists(path))) candidates.push(path);
  }
  const users = await (opts.others ?? new OtherDomainsReach(store, uuid)).usersOf(candidates);
  const plan: DiscardPlan = { discard: [], kept: [] };
  for (const path of candidates.sort()) {
    const names = users.get(path);
    if (names) {
      plan.kept.push({ path, why: usersText(names) });
      continue;
    }
    if (opts.probeLocks && !memoryFiles.has(path)) {
      // Opened as for writing: a QEMU reading through it as a backing file refuses to share that.
      const held = await inspectImage(path, 'qcow2', { access: 'write' }).then(() => undefined, (e: unknown) => {
        if (!(e instanceof VirError)) throw e;
        if (/lock/i.test(e.detail)) return e.detail.split('\n')[0]!;
        throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `cannot use image '${path}': ${e.detail}`);
      });
      if (held !== undefined) {
        plan.kept.push({ path, why: `another process has it open (${held})` });
        continue;
      }
    }
    plan.discard.push(path);
  }
  return plan;
}

/**
 * True when another domain reaches `overlay` or `base` (`others`: what they reach), so a
 * delete must not merge the one into the other (the base's data would change under that
 * domain, or the overlay vanish); the reasons go to `kept`.
 */
export async function mergeTouchesOthers(
  others: OtherDomainsReach, overlay: string, base: string, kept: DiscardPlan['kept'],
): Promise<boolean> {
  const users = await others.usersOf([overlay, base]);
  for (const [path, names] of users) kept.push({ path, why: `${usersText(names)}, so '${overlay}' is not merged into '${base}'` });
  return users.size > 0;
}

/** Warns about each file an operation kept because someone else uses it (once per file). */
export function warnKept(warn: (message: string) => void, what: string, plan: DiscardPlan): void {
  const seen = new Set<string>();
  for (const k of plan.kept) {
    if (seen.has(k.path)) continue;
    seen.add(k.path);
    warn(`${what}: kept '${k.path}' as it is: ${k.why} (snapvirt never removes or merges away a file another domain reaches; snapshot-check lists it)`);
  }
}
