/**
 * The layers an external snapshot's delete may merge, one per disk: the overlay the
 * snapshot created and the image it froze below it (the disk's source in the snapshot's
 * own `<domain>`). Offline and running deletes decide on the same pairs; only how they
 * merge one differs (qemu-img commit, or block-commit).
 */
import { resolve } from 'node:path';
import type { DomainDiskDef } from '../../../../conf/domain-types.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';

/** One disk's overlay and the frozen image below it (absolute paths). */
export interface ExternalLayer {
  target: string;
  overlay: string;
  base: string;
  /** The disk as the snapshot froze it (its format and type are the base's). */
  frozen: DomainDiskDef;
}

/** Each external disk of `snap` whose overlay and frozen image are both known, in the snapshot's disk order. */
export function externalLayers(snap: SnapshotDef): ExternalLayer[] {
  const out: ExternalLayer[] = [];
  for (const sd of snap.disks) {
    if (sd.snapshot !== 'external' || !sd.sourcePath) continue;
    const frozen = snap.domain?.disks.find((d) => d.target === sd.name);
    if (!frozen?.sourcePath) continue;
    out.push({ target: sd.name, overlay: resolve(sd.sourcePath), base: resolve(frozen.sourcePath), frozen });
  }
  return out;
}
