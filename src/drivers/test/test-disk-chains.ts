/**
 * The test driver's disk chains: it has no image files (its disks are names in XML), so a
 * disk's chain is its source alone, in the format its definition declares (raw when none,
 * as QEMU would open it), and says it was read from the definition.
 */
import type { DiskChainAnswer, DiskChainQuery } from '../driver.js';

/** One answer per disk: `[source]`, or no layer for a disk without a source. */
export function sourceOnlyChains(disks: readonly DiskChainQuery[]): DiskChainAnswer[] {
  return disks.map((d) => ({
    layers: d.source === undefined ? [] : [{ path: d.source, format: d.format ?? 'raw' }],
    origin: 'definition',
  }));
}
