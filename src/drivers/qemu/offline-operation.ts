/**
 * How the offline QEMU driver runs a mutating operation: on src/txn's engine (journal
 * first, prepare steps with undo, one SQLite commit, post-commit finalize, recovery on
 * open), with this driver's resource kinds registered: qcow2 tags created, applied or
 * removed, and external overlays merged away. File overlays use txn's 'file-created'.
 */
import type { Store } from '../../store/index.js';
import {
  createTxnContext, lockDomain, recover, runOperation, type Resource, type ResourceHandler, type Step, type TxnContext,
} from '../../txn/index.js';
import { cleanupResource, undoResource, type CleanupContext, type DiskResource } from './disk-resources.js';
import { replaceImagePath } from './snapshot-catalog.js';

/** One prepare step: the resource it touches (journaled before it runs) and the action. */
export interface OfflineStep {
  resource: DiskResource;
  run(): Promise<void>;
}

/** An operation to run: txn kind, domain, disk steps, metadata commit, post-commit cleanup. */
export interface OfflineOperation {
  /** One of txn's operation kinds (create, revert, delete, redefine…). */
  kind: string;
  domainUuid: string;
  domainName: string;
  /** Free-form description kept in the journal for diagnosis. */
  summary: Record<string, unknown>;
  steps: OfflineStep[];
  /** Resources finished after the commit point (removals, merges, dropping undo tags). */
  cleanup: DiskResource[];
  /** The metadata switch, run inside the store transaction that is the commit point. */
  commit(): void;
}

/** The txn resource kind of each of our resources ('created-file' maps to txn's own 'file-created'). */
const KIND_PREFIX = 'qemu-';

function toTxnResource(res: DiskResource): Resource {
  if (res.kind === 'created-file') return { kind: 'file-created', path: res.path };
  return { ...res, kind: KIND_PREFIX + res.kind } as unknown as Resource;
}

function fromTxnResource(res: Resource): DiskResource {
  return { ...res, kind: res.kind.slice(KIND_PREFIX.length) } as unknown as DiskResource;
}

/** A txn context for `store` with the QEMU offline resource kinds registered. */
export function createQemuTxnContext(store: Store): TxnContext {
  const ctx = createTxnContext(store);
  const cleanupCtx: CleanupContext = {
    replaceImagePath: (uuid, from, to, format) => replaceImagePath(store, uuid, from, to, format),
  };
  const handler: ResourceHandler = {
    undo: (r) => undoResource(fromTxnResource(r)),
    finalize: (r) => cleanupResource(fromTxnResource(r), cleanupCtx),
  };
  for (const kind of ['created-tag', 'applied-tag', 'removed-tag', 'removed-file', 'merge-overlay']) {
    ctx.registry.registerResource(KIND_PREFIX + kind, handler);
  }
  return ctx;
}

/** Finishes every interrupted operation in the store (call on open); returns how many. */
export async function recoverOfflineJournal(ctx: TxnContext): Promise<number> {
  return (await recover(ctx)).filter((r) => r.action !== 'skipped').length;
}

/**
 * Runs `fn` (which checks, then calls runOfflineOperation) holding the domain's lock;
 * txn's lockDomain also finishes any operation a crash left on this domain first.
 */
export function withOfflineLock<T>(ctx: TxnContext, domainUuid: string, operation: string, fn: () => Promise<T>): Promise<T> {
  return lockDomain(ctx, domainUuid, operation, async (lock) => {
    const held = locksOf(ctx);
    held.set(domainUuid, lock);
    try {
      return await fn();
    } finally {
      held.delete(domainUuid);
    }
  });
}

type HeldLock = Parameters<typeof runOperation>[1];
const heldLocks = new WeakMap<TxnContext, Map<string, HeldLock>>();

/** The locks this process holds through `ctx`, by domain UUID. */
function locksOf(ctx: TxnContext): Map<string, HeldLock> {
  let m = heldLocks.get(ctx);
  if (!m) heldLocks.set(ctx, (m = new Map()));
  return m;
}

/** Runs `op` all-or-nothing; must be called inside withOfflineLock for the same domain. */
export async function runOfflineOperation(ctx: TxnContext, op: OfflineOperation): Promise<void> {
  const lock = locksOf(ctx).get(op.domainUuid);
  if (!lock) throw new Error(`${op.kind} on '${op.domainName}' outside withOfflineLock`);
  const steps: Step[] = op.steps.map((s, i) => {
    let created = false;
    return {
      name: `${s.resource.kind}.${i}`,
      resources: [toTxnResource(s.resource)],
      async do() {
        try {
          await s.run();
          created = true;
        } catch (err) {
          // A step that provably created nothing must not be undone: the target may be someone else's file.
          if (!(err as { nothingCreated?: boolean }).nothingCreated) created = true;
          throw err;
        }
      },
      async undo() {
        if (created) await undoResource(s.resource);
      },
    };
  });
  if (op.cleanup.length > 0) {
    // Post-commit work rides on a step that does nothing before the commit: txn finalizes
    // the resources of every step after committing, and again in recovery until done.
    steps.push({ name: 'post-commit', resources: op.cleanup.map(toTxnResource), async do() {}, async undo() {} });
  }
  await runOperation(ctx, lock, {
    kind: op.kind,
    domain: { uuid: op.domainUuid, name: op.domainName },
    intent: JSON.parse(JSON.stringify(op.summary)),
    steps,
    commit: () => op.commit(),
  });
}
