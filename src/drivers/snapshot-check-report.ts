/**
 * What `snapshot-check` reports (snapvirt's own call, beyond libvirt): one finding per
 * inconsistency between a domain's snapshot metadata and what is really on its disks or
 * in its running QEMU, each in plain words, plus what `--repair` did about it.
 */

/** VIR_DOMAIN_SNAPSHOT_CHECK_REPAIR-like flag of HypervisorDriver.snapshotCheck. */
export const SNAPSHOT_CHECK_REPAIR = 1;

/** The kinds of finding, stable for scripts (the message is for people). */
export type SnapshotCheckFindingKind =
  /** The snapshot tree itself: a parent that does not exist, a loop, two current snapshots. */
  | 'tree'
  /** A journal entry of an interrupted operation is still open. */
  | 'journal-open'
  /** An image the metadata needs does not exist. */
  | 'image-missing'
  /** An image exists but cannot be read as the metadata says (wrong format, unreadable header). */
  | 'image-unreadable'
  /** An overlay's backing file or backing format is not the one the metadata expects. */
  | 'backing-mismatch'
  /** A file snapvirt created is not mode 0600. */
  | 'file-mode'
  /** An internal snapshot's tag is missing from a disk image. */
  | 'tag-missing'
  /** An internal tag no snapshot metadata names. */
  | 'tag-unreferenced'
  /** A file snapvirt created or left behind that nothing names or reads through. */
  | 'stray-file'
  /** A file snapvirt created for this domain that another domain uses: never discarded while it does. */
  | 'shared-image'
  /** The running QEMU's block graph differs from the metadata's active chain. */
  | 'qemu-graph';

/** One inconsistency. */
export interface SnapshotCheckFinding {
  kind: SnapshotCheckFindingKind;
  /** What it is about: a file path, `image:tag`, a snapshot name or a disk target. */
  subject: string;
  /** One line in plain words: what is wrong, where, and what it means. */
  message: string;
  /** True when `--repair` may fix it (it is provably safe to). */
  repairable: boolean;
  /** Why `--repair` leaves it alone (when not repairable). */
  reason?: string;
  /** Set by a repair run: whether it was fixed, and how, or why not. */
  repair?: { done: boolean; detail: string };
}

/** The result of one check (and repair) of one domain. */
export interface SnapshotCheckReport {
  domain: string;
  /** Whether this was a `--repair` run. */
  repaired: boolean;
  findings: SnapshotCheckFinding[];
  /** True when nothing remains wrong: no finding, or every finding repaired. */
  consistent: boolean;
}

/** True when `f` is still a problem after the run (not repaired). */
export function findingRemains(f: SnapshotCheckFinding): boolean {
  return f.repair?.done !== true;
}

/** Builds a report; `consistent` follows from the findings. */
export function checkReport(domain: string, repaired: boolean, findings: SnapshotCheckFinding[]): SnapshotCheckReport {
  return { domain, repaired, findings, consistent: findings.every((f) => !findingRemains(f)) };
}
