/**
 * The engine's context: the store, the registry and where the domain locks live. One per
 * open driver connection.
 */
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { TxnRegistry } from './registry.js';

/** Everything the operation runner and recovery need. */
export interface TxnContext {
  readonly store: Store;
  readonly registry: TxnRegistry;
  /** Directory of the per-domain lock files (stateDir/locks). */
  readonly lockDir: string;
  /** Where warnings go (undo failures that do not change the reported error). */
  readonly warn: (message: string) => void;
  /** Bounded wait for a domain lock (ms); undefined: SNAPVIRT_LOCK_TIMEOUT_MS or 30 s. */
  readonly lockTimeoutMs: number | undefined;
}

/** Options for createTxnContext. */
export interface TxnContextOptions {
  registry?: TxnRegistry;
  warn?: (message: string) => void;
  lockTimeoutMs?: number;
}

/** Builds the context for a store: locks in `<stateDir>/locks`, built-in resource kinds. */
export function createTxnContext(store: Store, options: TxnContextOptions = {}): TxnContext {
  return {
    store,
    registry: options.registry ?? new TxnRegistry(),
    lockDir: join(store.stateDir, 'locks'),
    warn: options.warn ?? ((message) => process.stderr.write(`snapvirt: warning: ${message}\n`)),
    lockTimeoutMs: options.lockTimeoutMs,
  };
}
