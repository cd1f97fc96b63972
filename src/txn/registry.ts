/**
 * The recovery registry: how to undo, persist and finalize each resource kind, and how
 * to finish each operation kind after a crash. Drivers register their own kinds (a qcow2
 * internal snapshot tag, a QMP block node...) next to the built-in file kinds.
 */
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import type { Store } from '../store/store.js';
import type { JournalEntry } from './journal.js';
import { BUILTIN_RESOURCE_HANDLERS, type ResourceHandler } from './resources.js';

/** Which way recovery finishes an interrupted operation. */
export type RecoveryDirection = 'back' | 'forward';

/** How recovery finishes an interrupted operation of one kind. */
export interface OperationRecoveryHandler {
  /**
   * Chooses the direction for an entry that did not commit. Only needed where a switch
   * can happen (live operations): return 'forward' when the switch provably happened
   * (e.g. QMP query-block shows the overlays). Default: 'back'.
   */
  decide?(entry: JournalEntry, store: Store): Promise<RecoveryDirection>;
  /** For 'forward': writes what the commit would have, from entry.intent. Runs inside the commit transaction. */
  commitForward?(entry: JournalEntry, store: Store): void;
  /** After the resources are undone: any extra idempotent rollback (resume a paused guest...). */
  afterRollback?(entry: JournalEntry, store: Store): Promise<void>;
}

/** Resource and operation handlers, by kind. */
export class TxnRegistry {
  readonly #resources = new Map<string, ResourceHandler>(Object.entries(BUILTIN_RESOURCE_HANDLERS));
  readonly #operations = new Map<string, OperationRecoveryHandler>();

  /** Registers (or replaces) the handler of a resource kind. */
  registerResource(kind: string, handler: ResourceHandler): this {
    this.#resources.set(kind, handler);
    return this;
  }

  /** Registers (or replaces) the recovery handler of an operation kind. */
  registerOperation(kind: string, handler: OperationRecoveryHandler): this {
    this.#operations.set(kind, handler);
    return this;
  }

  /** The handler of a resource kind; throws when none is registered. */
  resource(kind: string): ResourceHandler {
    const h = this.#resources.get(kind);
    if (!h) throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `no handler registered for journal resource kind '${kind}'`);
    return h;
  }

  /** True when a resource kind has a handler. */
  hasResource(kind: string): boolean {
    return this.#resources.has(kind);
  }

  /** The recovery handler of an operation kind, if any. */
  operation(kind: string): OperationRecoveryHandler | undefined {
    return this.#operations.get(kind);
  }
}
