/** The all-or-nothing engine: failpoints, durability helpers, domain locks, journal, operations, recovery. */
export {
  failpoint, listFailpoints, declareFailpoints, declareOperationKind, isOperationKindDeclared, parseFailpointSpec,
  requireTestingSwitch, TESTING_SWITCH,
  FAILPOINTS, OPERATION_KINDS, OPERATION_PHASE_POINTS, RECOVERY_POINTS, LOCK_POINTS,
} from './failpoints.js';
export type { FailpointAction } from './failpoints.js';
export { fsyncFile, fsyncDir, fsyncDirsOf, writeFileDurable } from './fsync.js';
export { settleAll } from './settle-all.js';
export {
  acquireDomainLock, tryAcquireDomainLock, withDomainLock, readLockHolder, isHolderDead, currentBootId,
  defaultLockTimeoutMs,
} from './domain-lock.js';
export type { DomainLock, LockHolder, AcquireOptions } from './domain-lock.js';
export { BUILTIN_RESOURCE_HANDLERS, resourceString, unlinkIfPresent } from './resources.js';
export type { JsonValue, Resource, ResourceHandler } from './resources.js';
export { TxnRegistry } from './registry.js';
export type { OperationRecoveryHandler, RecoveryDirection } from './registry.js';
export { createTxnContext } from './context.js';
export type { TxnContext, TxnContextOptions } from './context.js';
export { openEntries, openMemberEntries, loadEntry, abandonEntry, resourcesOf } from './journal.js';
export { domainsOfEntry } from './member-locks.js';
export type { JournalEntry, JournalPhase, StepState, PlannedStep } from './journal.js';
export { runOperation, lockDomain, undoErrorsOf, nothingCreated, isNothingCreated } from './operation.js';
export type { OperationSpec, Step, StepContext } from './operation.js';
export { recover, recoverDomain, recoverEntry, JOURNAL_KEEP, JOURNAL_PRUNE_BATCH } from './recovery.js';
export type { RecoveryReport } from './recovery.js';
export { describePending, isCommittedEntry, pendingEntries, refusePendingConflicts } from './pending-work.js';
export {
  abortDomainJob, activeDomainJob, currentJob, runDomainJob, JobOperation, RunningJob, SNAPSHOT_JOB, SNAPSHOT_REVERT_JOB,
  SNAPSHOT_DELETE_JOB, LIVE_SNAPSHOT_DELETE_JOB,
} from './domain-job.js';
export { lockDomainJob } from './job-lock.js';
export { readJobRecord } from './job-file.js';
export type { JobDescription } from './domain-job.js';
export type { JobRecord, JobProgress, JobPhase } from './job-file.js';
