/**
 * A running domain's delete: the deleted snapshots' external memory files go with them,
 * as libvirt ≥ 9.1 does (9.0 leaves them behind), but only files snapvirt made (a create's
 * commit lists its memory file as the domain's own) that nothing needs any more: no
 * snapshot that remains names one, and no other domain reaches it. A file the user named
 * for a redefined snapshot is never removed. (The offline delete decides the same for
 * every file snapvirt made at once: image-reachability.ts.)
 */
import { resolve } from 'node:path';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import type { SnapshotTree } from '../../../../snapshot/snapshot-tree.js';
import type { Store } from '../../../../store/index.js';
import type { OtherDomainsReach } from '../../images/image-users.js';

/** The memory files of `victims` (snapshots of domain `uuid` in `tree`) that go with them. */
export async function obsoleteMemoryFiles(
  store: Store, uuid: string, tree: SnapshotTree, victims: readonly SnapshotDef[], others: OtherDomainsReach,
): Promise<string[]> {
  const files = [...new Set(victims.flatMap(memoryFileOf))];
  if (files.length === 0) return [];
  const own = new Set(store.ownership.createdImages(uuid));
  const gone = new Set(victims.map((v) => v.name));
  const stillNamed = new Set(tree.linkOrder().filter((s) => !gone.has(s.name)).flatMap(memoryFileOf));
  const candidates = files.filter((f) => own.has(f) && !stillNamed.has(f));
  const users = await others.usersOf(candidates);
  return candidates.filter((f) => !users.has(f));
}

function memoryFileOf(snap: SnapshotDef): string[] {
  const file = snap.memory?.snapshot === 'external' ? snap.memory.file : undefined;
  return file === undefined ? [] : [resolve(file)];
}
