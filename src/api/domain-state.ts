/**
 * libvirt's domain states and their reasons (virDomainState and the virDomain*Reason
 * enums of libvirt-domain.h), with libvirt's names and values, and the functions that turn
 * virDomainGetState's numbers back into those names.
 */

/** virDomainState: what virDomainGetState and virDomainGetInfo report. */
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
/** One of virDomainState's values. */
export type DomainState = (typeof DomainState)[keyof typeof DomainState];
/** One of virDomainState's names: "RUNNING", "SHUTOFF", … */
export type DomainStateName = keyof typeof DomainState;

/** virDomainNostateReason */
export const NostateReason = { UNKNOWN: 0 } as const;

/** virDomainRunningReason */
export const RunningReason = {
  UNKNOWN: 0, BOOTED: 1, MIGRATED: 2, RESTORED: 3, FROM_SNAPSHOT: 4, UNPAUSED: 5,
  MIGRATION_CANCELED: 6, SAVE_CANCELED: 7, WAKEUP: 8, CRASHED: 9, POSTCOPY: 10, POSTCOPY_FAILED: 11,
} as const;

/** virDomainBlockedReason */
export const BlockedReason = { UNKNOWN: 0 } as const;

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

/** virDomainCrashedReason */
export const CrashedReason = { UNKNOWN: 0, PANICKED: 1 } as const;

/** virDomainPMSuspendedReason */
export const PMSuspendedReason = { UNKNOWN: 0 } as const;

/** The reason enum that goes with each state. */
const REASONS_BY_STATE: Record<DomainState, Readonly<Record<string, number>>> = {
  [DomainState.NOSTATE]: NostateReason,
  [DomainState.RUNNING]: RunningReason,
  [DomainState.BLOCKED]: BlockedReason,
  [DomainState.PAUSED]: PausedReason,
  [DomainState.SHUTDOWN]: ShutdownReason,
  [DomainState.SHUTOFF]: ShutoffReason,
  [DomainState.CRASHED]: CrashedReason,
  [DomainState.PMSUSPENDED]: PMSuspendedReason,
};

function nameOf(table: Readonly<Record<string, number>>, value: number): string | undefined {
  return Object.keys(table).find((name) => table[name] === value);
}

/**
 * libvirt's name of a state (`domainStateName(5)` is "SHUTOFF"); "NOSTATE" for a value
 * libvirt does not define, as virsh shows an unknown state as "no state".
 */
export function domainStateName(state: number): DomainStateName {
  return (nameOf(DomainState, state) ?? 'NOSTATE') as DomainStateName;
}

/**
 * libvirt's name of the reason `reason` has for being in `state`
 * (`domainStateReasonName(DomainState.SHUTOFF, 7)` is "FROM_SNAPSHOT"); "UNKNOWN" when
 * the pair is not one libvirt defines.
 */
export function domainStateReasonName(state: number, reason: number): string {
  const table = REASONS_BY_STATE[state as DomainState] ?? NostateReason;
  return nameOf(table, reason) ?? 'UNKNOWN';
}
