/**
 * Per-domain state of the offline QEMU driver that is not part of any libvirt XML: the
 * shut-off reason (after a revert: "from snapshot") and the image files snapvirt itself
 * created (snapshot overlays, revert overlays, revert copies). Only files listed here may
 * ever be discarded by the driver; a user's own images never are.
 *
 * Kept as `<stateDir>/qemu-offline/<uuid>.json` (0600, dir 0700), replaced durably. It is
 * written inside the operation's commit callback, just before the SQLite COMMIT: if that
 * COMMIT then fails, the file may list an overlay the rollback removed, which is harmless
 * (an absent file is never needed and never removed twice), and a reason that is cosmetic.
 */
import { mkdirSync, readFileSync, existsSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fsyncDir, writeFileDurable } from '../../txn/fsync.js';
import type { Store } from '../../store/index.js';

/** What is kept for one domain. */
export interface OfflineDomainState {
  /** virDomainShutoffReason to report while shut off; absent means unknown. */
  shutoffReason?: number;
  /** Absolute paths of image files snapvirt created for this domain and may discard. */
  createdImages: string[];
}

function dirOf(store: Store): string {
  return join(store.stateDir, 'qemu-offline');
}

function fileOf(store: Store, uuid: string): string {
  // UUIDs come from the store (validated, 36 chars): safe as a file name.
  return join(dirOf(store), `${uuid.toLowerCase()}.json`);
}

/** Reads a domain's driver state; a missing or unreadable file is the empty state. */
export function readOfflineDomainState(store: Store, uuid: string): OfflineDomainState {
  const path = fileOf(store, uuid);
  if (!existsSync(path)) return { createdImages: [] };
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<OfflineDomainState>;
    const out: OfflineDomainState = {
      createdImages: Array.isArray(raw.createdImages) ? raw.createdImages.filter((p): p is string => typeof p === 'string') : [],
    };
    if (typeof raw.shutoffReason === 'number') out.shutoffReason = raw.shutoffReason;
    return out;
  } catch {
    return { createdImages: [] };
  }
}

/** Durably replaces a domain's driver state. Synchronous so it can run inside a commit callback. */
export function writeOfflineDomainState(store: Store, uuid: string, state: OfflineDomainState): void {
  mkdirSync(dirOf(store), { recursive: true, mode: 0o700 });
  const created = [...new Set(state.createdImages.map((p) => resolve(p)))].sort();
  writeFileDurable(fileOf(store, uuid), JSON.stringify({ ...state, createdImages: created }), 0o600);
}

/**
 * Updates a domain's state: adds `created` to the list, drops `forgotten` (files that were
 * or are about to be removed), and sets the shut-off reason when given.
 */
export function updateOfflineDomainState(
  store: Store, uuid: string, change: { created?: string[]; forgotten?: string[]; shutoffReason?: number },
): void {
  const state = readOfflineDomainState(store, uuid);
  const drop = new Set((change.forgotten ?? []).map((p) => resolve(p)));
  state.createdImages = [...state.createdImages.filter((p) => !drop.has(resolve(p))), ...(change.created ?? [])];
  if (change.shutoffReason !== undefined) state.shutoffReason = change.shutoffReason;
  writeOfflineDomainState(store, uuid, state);
}

/**
 * The shut-off reason of each domain, kept in the domain's state file so that it survives
 * a reconnect (domstate --reason after a revert says "from snapshot" in a new process).
 * Map-shaped, because the driver's lifecycle code uses it as a Map.
 */
export class PersistedShutoffReasons {
  constructor(private readonly store: () => Store) {}

  /** The persisted reason of domain `uuid`, if any. */
  get(uuid: string): number | undefined {
    return readOfflineDomainState(this.store(), uuid).shutoffReason;
  }

  /** Persists `reason` for domain `uuid`. */
  set(uuid: string, reason: number): this {
    updateOfflineDomainState(this.store(), uuid, { shutoffReason: reason });
    return this;
  }

  /** Forgets the reason of domain `uuid` (it started, or another path set the state). */
  delete(uuid: string): boolean {
    const state = readOfflineDomainState(this.store(), uuid);
    if (state.shutoffReason === undefined) return false;
    delete state.shutoffReason;
    writeOfflineDomainState(this.store(), uuid, state);
    return true;
  }
}

/**
 * Forgets everything kept for domain `uuid` (undefine): the images stay on disk and become
 * the user's, so a later domain with the same UUID must never discard them as its own.
 */
export function forgetOfflineDomainState(store: Store, uuid: string): void {
  const path = fileOf(store, uuid);
  if (!existsSync(path)) return;
  unlinkSync(path);
  fsyncDir(dirOf(store));
}
