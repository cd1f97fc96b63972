/**
 * libvirt's flag enums, with libvirt's names and exact values (libvirt-domain-snapshot.h
 * and libvirt-domain.h). Flags combine with `|`.
 */

/** virDomainSnapshotCreateFlags */
export const SnapshotCreateFlags = {
  REDEFINE: 0x1,
  CURRENT: 0x2,
  NO_METADATA: 0x4,
  HALT: 0x8,
  DISK_ONLY: 0x10,
  REUSE_EXT: 0x20,
  QUIESCE: 0x40,
  ATOMIC: 0x80,
  LIVE: 0x100,
  VALIDATE: 0x200,
} as const;

/** virDomainSnapshotXMLFlags */
export const SnapshotXMLFlags = {
  SECURE: 0x1,
} as const;

/** virDomainSnapshotListFlags. DESCENDANTS shares ROOTS' bit: it applies to children listings. */
export const SnapshotListFlags = {
  ROOTS: 0x1,
  DESCENDANTS: 0x1,
  METADATA: 0x2,
  LEAVES: 0x4,
  NO_LEAVES: 0x8,
  NO_METADATA: 0x10,
  INACTIVE: 0x20,
  ACTIVE: 0x40,
  DISK_ONLY: 0x80,
  INTERNAL: 0x100,
  EXTERNAL: 0x200,
  TOPOLOGICAL: 0x400,
} as const;

/** virDomainSnapshotRevertFlags */
export const SnapshotRevertFlags = {
  RUNNING: 0x1,
  PAUSED: 0x2,
  FORCE: 0x4,
  RESET_NVRAM: 0x8,
} as const;

/** virDomainSnapshotDeleteFlags */
export const SnapshotDeleteFlags = {
  CHILDREN: 0x1,
  METADATA_ONLY: 0x2,
  CHILDREN_ONLY: 0x4,
} as const;

/** virDomainXMLFlags */
export const DomainXMLFlags = {
  SECURE: 0x1,
  INACTIVE: 0x2,
  UPDATE_CPU: 0x4,
  MIGRATABLE: 0x8,
} as const;

/** virConnectListAllDomainsFlags */
export const ListDomainsFlags = {
  ACTIVE: 1 << 0,
  INACTIVE: 1 << 1,
  PERSISTENT: 1 << 2,
  TRANSIENT: 1 << 3,
  RUNNING: 1 << 4,
  PAUSED: 1 << 5,
  SHUTOFF: 1 << 6,
  OTHER: 1 << 7,
  MANAGEDSAVE: 1 << 8,
  NO_MANAGEDSAVE: 1 << 9,
  AUTOSTART: 1 << 10,
  NO_AUTOSTART: 1 << 11,
  HAS_SNAPSHOT: 1 << 12,
  NO_SNAPSHOT: 1 << 13,
  HAS_CHECKPOINT: 1 << 14,
  NO_CHECKPOINT: 1 << 15,
} as const;

/** virDomainUndefineFlagsValues */
export const DomainUndefineFlags = {
  MANAGED_SAVE: 1 << 0,
  SNAPSHOTS_METADATA: 1 << 1,
  NVRAM: 1 << 2,
  KEEP_NVRAM: 1 << 3,
  CHECKPOINTS_METADATA: 1 << 4,
  TPM: 1 << 5,
  KEEP_TPM: 1 << 6,
} as const;

/** virDomainState */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;
export type DomainState = (typeof DomainState)[keyof typeof DomainState];

/** virDomainRunningReason */
export const RunningReason = {
  UNKNOWN: 0, BOOTED: 1, MIGRATED: 2, RESTORED: 3, FROM_SNAPSHOT: 4, UNPAUSED: 5,
  MIGRATION_CANCELED: 6, SAVE_CANCELED: 7, WAKEUP: 8, CRASHED: 9, POSTCOPY: 10, POSTCOPY_FAILED: 11,
} as const;

/** virDomainPausedReason */
export const PausedReason = {
  UNKNOWN: 0, USER: 1, MIGRATION: 2, SAVE: 3, DUMP: 4, IOERROR: 5, WATCHDOG: 6,
  FROM_SNAPSHOT: 7, SHUTTING_DOWN: 8, SNAPSHOT: 9, CRASHED: 10, STARTING_UP: 11,
  POSTCOPY: 12, POSTCOPY_FAILED: 13, API_ERROR: 14,
} as const;

/** virDomainShutdownReason */
export const ShutdownReason = { UNKNOWN: 0, USER: 1 } as const;

/** virDomainShutoffReason */
export const ShutoffReason = {
  UNKNOWN: 0, SHUTDOWN: 1, DESTROYED: 2, CRASHED: 3, MIGRATED: 4, SAVED: 5, FAILED: 6,
  FROM_SNAPSHOT: 7, DAEMON: 8,
} as const;

/** Returns the names of the flags of `table` set in `flags`, for messages like libvirt's. */
export function flagNames(table: Record<string, number>, flags: number): string[] {
  return Object.entries(table).filter(([, bit]) => (flags & bit) !== 0).map(([name]) => name);
}
