/**
 * Per-domain state of the QEMU driver that is not part of any libvirt XML: the shut-off
 * reason (after a revert: "from snapshot") and the image files snapvirt itself created
 * (snapshot overlays, revert overlays, revert copies, memory files). Only files listed
 * here may ever be discarded by the driver; a user's own images never are.
 *
 * Kept in the state database (store/ownership-table.ts). An operation records what it
 * created and forgets what it discards inside its commit callback, so the rows commit with
 * the metadata that needs them, or roll back with it: a crash never leaves a file snapvirt
 * made for a committed snapshot unlisted. The failpoint below sits in that window.
 */
import { resolve } from 'node:path';
import { declareFailpoints, failpoint } from '../../../txn/index.js';
import type { Store } from '../../../store/index.js';

/** Fires inside the commit transaction once the ownership rows are written, before COMMIT. */
export const FP_OWNERSHIP_WRITTEN = 'ownership.rows-written.before-commit';
declareFailpoints([FP_OWNERSHIP_WRITTEN]);

/** What is kept for one domain. */
export interface OfflineDomainState {
  /** virDomainShutoffReason to report while shut off; absent means unknown. */
  shutoffReason?: number;
  /** Absolute paths of image files snapvirt created for this domain and may discard. */
  createdImages: string[];
}

/** Reads a domain's driver state. */
export function readOfflineDomainState(store: Store, uuid: string): OfflineDomainState {
  const out: OfflineDomainState = { createdImages: store.ownership.createdImages(uuid) };
  const reason = store.ownership.shutoffReason(uuid);
  if (reason !== undefined) out.shutoffReason = reason;
  return out;
}

/**
 * Updates a domain's state: adds `created` to the list, drops `forgotten` (files that were
 * or are about to be removed), and sets the shut-off reason when given. Inside a
 * transaction (an operation's commit), it commits with it.
 */
export function updateOfflineDomainState(
  store: Store, uuid: string, change: { created?: string[]; forgotten?: string[]; shutoffReason?: number },
): void {
  const created = [...new Set((change.created ?? []).map((p) => resolve(p)))];
  const forgotten = (change.forgotten ?? []).map((p) => resolve(p));
  store.transaction(() => {
    if (created.length + forgotten.length > 0) store.ownership.change(uuid, created, forgotten);
    if (change.shutoffReason !== undefined) store.ownership.setShutoffReason(uuid, change.shutoffReason);
  });
  if (created.length + forgotten.length > 0 && store.db.inTransaction) failpoint(FP_OWNERSHIP_WRITTEN);
}

/** Forgets the shut-off reason of domain `uuid`; true when one was kept. */
export function forgetShutoffReasonOf(store: Store, uuid: string): boolean {
  return store.ownership.setShutoffReason(uuid, undefined);
}

/**
 * The shut-off reason of each domain, kept in the state database so that it survives a
 * reconnect (domstate --reason after a revert says "from snapshot" in a new process).
 * Map-shaped, because the driver's lifecycle code uses it as a Map.
 */
export class PersistedShutoffReasons {
  constructor(private readonly store: () => Store) {}

  /** The persisted reason of domain `uuid`, if any. */
  get(uuid: string): number | undefined {
    return this.store().ownership.shutoffReason(uuid);
  }

  /** Persists `reason` for domain `uuid`. */
  set(uuid: string, reason: number): this {
    this.store().ownership.setShutoffReason(uuid, reason);
    return this;
  }

  /** Forgets the reason of domain `uuid` (it started, or another path set the state). */
  delete(uuid: string): boolean {
    return forgetShutoffReasonOf(this.store(), uuid);
  }
}

/**
 * Forgets everything kept for domain `uuid` (undefine): the images stay on disk and become
 * the user's, so a later domain with the same UUID must never discard them as its own.
 * Call it in the transaction that removes the domain.
 */
export function forgetOfflineDomainState(store: Store, uuid: string): void {
  store.ownership.forgetDomain(uuid);
}
