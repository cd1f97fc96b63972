/**
 * The typed rows of the state database, as the rest of snapvirt sees them (camelCase,
 * booleans, nulls), independent of the SQL column layout.
 */

/** A domain's stored definitions and flags. */
export interface DomainRecord {
  uuid: string;
  name: string;
  /** The persistent (inactive) definition XML; null for a transient domain. */
  persistentXml: string | null;
  /** The live definition XML while running; null when shut off. */
  liveXml: string | null;
  persistent: boolean;
  autostart: boolean;
  /** Driver-owned runtime state as JSON text (pid, monitor socket…); null when shut off. */
  runtime: string | null;
}

/** A snapshot's stored metadata. */
export interface SnapshotRecord {
  domainUuid: string;
  name: string;
  /** The full `<domainsnapshot>` XML as libvirt would store it. */
  xml: string;
  /** The parent snapshot's name; null for a root. */
  parent: string | null;
  /** Monotonic per domain: the order snapshots were created (or redefined) in. */
  creationOrder: number;
  isCurrent: boolean;
  /** The guest's filesystems were frozen through its agent while the disks were snapshotted (--quiesce). */
  quiesced: boolean;
  /** How many filesystems the agent froze; null when not quiesced or not known. */
  frozenFilesystems: number | null;
}

/** How a journal entry ended. `committed` may still be open while post-commit work runs. */
export type JournalOutcome = 'committed' | 'rolled-back' | 'rolled-forward' | 'abandoned';

/** A row of the intent journal. `intent` and `progress` are JSON text. */
export interface JournalRecord {
  id: number;
  kind: string;
  domainUuid: string;
  domainName: string;
  intent: string;
  progress: string;
  phase: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  outcome: JournalOutcome | null;
  /** The error that made the operation roll back, for diagnosis. */
  error: string | null;
}
