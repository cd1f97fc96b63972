/** snapvirt's public library API: `import { connect } from 'snapvirt'`. */
export { connect, Connection, LIBVIRT_API_VERSION } from './api/connection.js';
export type { ConnectOptions } from './api/connection.js';
export { Domain } from './api/domain.js';
export { DomainSnapshot } from './api/domain-snapshot.js';
export { VirError, VirErrorCode, VirErrorDomain, isVirError } from './api/errors.js';
export * from './api/flags.js';
export type { DomainInfo, DomainStateInfo, DomainExtraInfo, DomainRef, SnapshotQuiesceInfo } from './drivers/driver.js';
export type { SnapshotCheckFinding, SnapshotCheckFindingKind, SnapshotCheckReport } from './drivers/snapshot-check-report.js';
