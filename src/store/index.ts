/** The state store: SQLite persistence of definitions, snapshot metadata and the journal. */
export { openStore, DB_FILE_NAME } from './open-store.js';
export type { OpenStoreOptions } from './open-store.js';
export { Store } from './store.js';
export type { DomainRecord, SnapshotRecord, JournalRecord, JournalOutcome } from './records.js';
export type { DomainPatch } from './domain-table.js';
export type { NewSnapshot } from './snapshot-table.js';
export { SCHEMA_VERSION } from './schema.js';
export type { OwnedImage } from './ownership-table.js';
export type { GroupSnapshotRecord, GroupMemberRecord, GroupSnapshotState } from './group-table.js';
export { StorePool, privateStoreLease, type StoreLease } from './store-pool.js';
