/**
 * snapvirt's public library API: `import { connect } from 'snapvirt'`.
 *
 * @packageDocumentation
 */
export { connect, Connection, LIBVIRT_API_VERSION } from './api/connection.js';
export type { ConnectOptions } from './api/connection.js';
export { StorePool } from './store/store-pool.js';
export { Domain } from './api/domain.js';
export { DomainSnapshot } from './api/domain-snapshot.js';
export { GroupSnapshot, groupOfSnapshot } from './api/group-snapshot.js';
export { DomainEventID, DomainEventType, type DomainLifecycleCallback } from './api/domain-events.js';
export type { ConnectionEvents, SnapshotEvent, SnapshotEventKind, SnapshotEventListener } from './api/snapshot-events.js';
export { VirError, VirErrorCode, VirErrorDomain, isVirError } from './api/errors.js';
export {
  combineFlags, flagsFromNumber, type Flags, type UntypedFlags,
  SnapshotCreateFlags, SnapshotXMLFlags, SnapshotListFlags, SnapshotRevertFlags, SnapshotDeleteFlags,
  DomainXMLFlags, ListDomainsFlags, DomainUndefineFlags,
  BlockCommitFlags, BlockRebaseFlags, BlockPullFlags, BlockJobAbortFlags, BlockJobInfoFlags, BlockJobType,
} from './api/flags.js';
export type { BlockInfo, BlockJobInfo } from './drivers/block-driver.js';
export {
  DomainState, type DomainStateName, domainStateName, domainStateReasonName,
  NostateReason, RunningReason, BlockedReason, PausedReason, ShutdownReason, ShutoffReason,
  CrashedReason, PMSuspendedReason,
} from './api/domain-state.js';
export {
  snapshotXML, parseSnapshotDefinition, type SnapshotDefinition, type SnapshotDefinitionInput,
  type SnapshotDiskDefinition, type SnapshotMemoryDefinition, type SnapshotMode, type SnapshotStateName,
} from './api/snapshot-definition.js';
export { parseDomainDefinition, type DomainDefinition, type DomainDiskDefinition } from './api/domain-definition.js';
export type { DiskChainLayer, DiskChainOrigin, DiskImageFormat } from './api/disk-chain.js';
export type { DomainInfo, DomainStateInfo, DomainExtraInfo, DomainRef, SnapshotQuiesceInfo } from './drivers/driver.js';
export type { SnapshotCheckFinding, SnapshotCheckFindingKind, SnapshotCheckReport } from './drivers/snapshot-check-report.js';
export { DomainJobType, DomainJobStatsFlags, type DomainJobInfo, type DomainJobStats, type JobStatParam } from './drivers/domain-job-info.js';
export { importLibvirtDomain, type LibvirtImportOptions, type LibvirtImportResult } from './import/import-libvirt.js';
export { readLibvirtDomain, DEFAULT_LIBVIRT_URI, type LibvirtDomainSource, type LibvirtSnapshot } from './import/libvirt-reader.js';
