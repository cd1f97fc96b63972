/**
 * How the offline QEMU driver runs a mutating operation: on src/txn's engine (journal
 * first, prepare steps with undo, one SQLite commit, post-commit finalize, recovery on
 * open), with this driver's resource kinds registered: qcow2 tags created, applied or
 * removed, and external overlays merged away. File overlays use txn's 'file-created'.
 */
import { existsSync } from 'node:fs';
import {
  declareFailpoints, failpoint, fsyncDirsOf, recover, runOperation, settleAll, type DomainLock, type Resource, type ResourceHandler,
  type Step, type TxnContext,
} from '../../../txn/index.js';
import { cleanupResource, diskResourceFromJson, undoResource, type CleanupContext, type DiskResource } from './disk-resources.js';
import { requireQemuImg } from '../images/qemu-img.js';
import { replaceImagePath } from '../catalog/snapshot-catalog.js';

/** One disk's prepare work: the resource it touches (journaled before it runs) and the action. */
export interface InactiveStep {
  resource: DiskResource;
  /**
   * Takes the resource's name exclusively (a new file, O_EXCL) before any disk's run():
   * claims run one after another, so a name someone else took is found before anything
   * slow starts. A claim that fails has created nothing.
   */
  claim?(): Promise<void>;
  run(): Promise<void>;
}

/** An operation to run: txn kind, domain, disk steps, metadata commit, post-commit cleanup. */
export interface InactiveOperation {
  /** One of txn's operation kinds (create, revert, delete, redefine…). */
  kind: string;
  domainUuid: string;
  domainName: string;
  /** A group operation's other domains and their held locks (txn's OperationSpec.members). */
  members?: { uuid: string; name: string; lock: DomainLock }[];
  /** Free-form description kept in the journal for diagnosis. */
  summary: Record<string, unknown>;
  steps: InactiveStep[];
  /** Resources finished after the commit point (removals, merges, dropping undo tags). */
  cleanup: DiskResource[];
  /** The metadata switch, run inside the store transaction that is the commit point. */
  commit(): void;
  /** Journaled steps after the disks' (the NVRAM's copy or restore), in the same entry. */
  extraSteps?: Step[];
  /** Images the operation builds on without a resource naming them (an overlay's backing), for txn's pending-work check. */
  touches?: string[];
  /** Post-commit work of other kinds, finished after `cleanup` (a group's running members' live merges). */
  finalizeAlso?: Resource[];
}

/** The txn resource kind of each of our resources ('created-file' maps to txn's own 'file-created'). */
const KIND_PREFIX = 'qemu-';

function toTxnResource(res: DiskResource): Resource {
  if (res.kind === 'created-file') return { kind: 'file-created', path: res.path };
  return { ...res, kind: KIND_PREFIX + res.kind };
}

function fromTxnResource(res: Resource): DiskResource {
  return diskResourceFromJson({ ...res, kind: res.kind.slice(KIND_PREFIX.length) });
}

/**
 * Post-commit work on several disks as one resource: txn finalizes resources one after
 * another, and these are independent (one image or file each) and idempotent, so they
 * run at once, like a script's parallel qemu-img calls. Recovery finishes the batch the
 * same way (items already done are no-ops).
 */
const CLEANUP_BATCH = 'qemu-cleanup-batch';

/** The files a disk resource touches: two items sharing one must not run at once (qemu-img locks them). */
export function diskResourceFiles(item: DiskResource): string[] {
  switch (item.kind) {
    case 'merge-overlay': return [item.overlay, item.base, ...item.children];
    case 'created-file': case 'removed-file': return [item.path];
    default: return [item.image];
  }
}

/**
 * The files a resource's unfinished post-commit work still needs left as they are: none
 * once a merge removed its overlay (its last act) or a removal is done.
 */
function pendingFiles(item: DiskResource): string[] {
  if (item.kind === 'merge-overlay' && !existsSync(item.overlay)) return [];
  if (item.kind === 'removed-file' && !existsSync(item.path)) return [];
  return diskResourceFiles(item);
}

/** Splits items into lanes: items sharing a file share a lane (in their order); lanes are independent. */
function lanesOf(items: DiskResource[]): DiskResource[][] {
  const laneOfFile = new Map<string, DiskResource[]>();
  const lanes: DiskResource[][] = [];
  for (const item of items) {
    const touched = [...new Set(diskResourceFiles(item).map((f) => laneOfFile.get(f)).filter((l): l is DiskResource[] => l !== undefined))];
    let lane: DiskResource[];
    if (touched.length === 0) {
      lane = [];
      lanes.push(lane);
    } else {
      // Joining lanes keeps each one's order; the item then runs after all of them.
      lane = touched[0]!;
      for (const other of touched.slice(1)) {
        lane.push(...other);
        lanes.splice(lanes.indexOf(other), 1);
        for (const [f, l] of laneOfFile) if (l === other) laneOfFile.set(f, lane);
      }
    }
    lane.push(item);
    for (const f of diskResourceFiles(item)) laneOfFile.set(f, lane);
  }
  return lanes;
}

function batchItems(r: Resource): DiskResource[] {
  const items = r['items'];
  return Array.isArray(items) ? items.map(diskResourceFromJson) : [];
}

/** Registers the resource kinds of operations on shut-off disks on the driver's txn context. */
export function registerInactiveHandlers(ctx: TxnContext): void {
  const { store } = ctx;
  const cleanupCtx: CleanupContext = {
    replaceImagePath: (uuid, from, to, format) => replaceImagePath(store, uuid, from, to, format),
  };
  const files = (r: Resource): string[] => pendingFiles(fromTxnResource(r));
  const handler: ResourceHandler = {
    undo: (r) => undoResource(fromTxnResource(r)),
    finalize: (r) => cleanupResource(fromTxnResource(r), cleanupCtx),
    files,
  };
  for (const kind of ['applied-tag', 'removed-tag', 'removed-file', 'merge-overlay']) {
    ctx.registry.registerResource(KIND_PREFIX + kind, handler);
  }
  // A new tag has nothing to finish after the commit: without a finalize handler the
  // commit closes the entry at once (a finalizer, even a no-op, costs one more commit).
  ctx.registry.registerResource(KIND_PREFIX + 'created-tag', { undo: handler.undo, files });
  ctx.registry.registerResource(CLEANUP_BATCH, {
    // Undo as the items one by one would be (newest first); finalize them all at once.
    async undo(r) {
      for (const item of [...batchItems(r)].reverse()) await undoResource(item);
    },
    async finalize(r) {
      const lanes = lanesOf(batchItems(r));
      await settleAll(lanes.map(async (lane) => {
        for (const item of lane) await cleanupResource(item, cleanupCtx);
      }));
    },
    files: (r) => batchItems(r).flatMap(pendingFiles),
  });
}

/** Finishes every interrupted operation in the store (call on open); returns how many. */
export async function recoverJournal(ctx: TxnContext): Promise<number> {
  return (await recover(ctx)).filter((r) => r.action !== 'skipped').length;
}

/**
 * `<kind>.prepare.disk.after` is reached once per disk whose work (its claim and run) has
 * succeeded, in the order the disks finish, while the other disks' qemu-img may still be
 * running: `@k` is "k disks done, the rest done or in flight". The engine's own
 * `<kind>.prepare.step.after` comes once every disk has settled.
 */
const DISK_KINDS = ['create', 'revert', 'delete'] as const;
declareFailpoints(DISK_KINDS.map((kind) => `${kind}.prepare.disk.after`));

/** Resource kinds whose work is done by qemu-img (tags, merges). */
const QEMU_IMG_KINDS = new Set<string>(['created-tag', 'applied-tag', 'removed-tag', 'merge-overlay']);

/** Runs `op` all-or-nothing under `lock`, the held lock of its domain (txn's lockDomain). */
export async function runInactiveOperation(ctx: TxnContext, lock: DomainLock, op: InactiveOperation): Promise<void> {
  if ([...op.steps.map((s) => s.resource), ...op.cleanup].some((r) => QEMU_IMG_KINDS.has(r.kind))) await requireQemuImg();
  // txn finalizes post-commit resources right after committing, and again in recovery until done.
  const finalize: Resource[] = op.cleanup.length <= 1
    ? op.cleanup.map(toTxnResource)
    : [{ kind: CLEANUP_BATCH, items: op.cleanup }];
  await runOperation(ctx, lock, {
    kind: op.kind,
    domain: { uuid: op.domainUuid, name: op.domainName },
    ...(op.members ? { members: op.members } : {}),
    intent: JSON.parse(JSON.stringify(op.summary)),
    steps: [...(op.steps.length > 0 ? [diskStep(op.kind, op.steps)] : []), ...(op.extraSteps ?? [])],
    commit: () => op.commit(),
    ...(op.touches ? { touches: op.touches } : {}),
    finalize: [...finalize, ...op.finalizeAlso ?? []],
  });
}

/** Marks an error as (not) having created anything, for the engine's undo decision. */
function setNothingCreated(err: unknown, nothing: boolean): unknown {
  if (typeof err === 'object' && err !== null) Object.assign(err, { nothingCreated: nothing });
  return err;
}

/**
 * Every disk's work as ONE journaled step: all resources are journaled together before it
 * starts, claims run in disk order, then every disk's run() at once (the qemu-img calls
 * of N disks overlap, as a script would run them), and the step ends when all have
 * settled, so nothing is still running when an undo starts (`<kind>.prepare.disk.after`
 * marks each disk as it finishes, so a crash can land with some disks done and others
 * mid-qemu-img). On failure the first error
 * in disk order is reported and the in-process undo takes back exactly the disks that
 * created something (never a file whose claim failed: it is someone else's). After a
 * crash, recovery undoes every resource of the step with the idempotent handlers.
 */
export function diskStep(kind: string, disks: InactiveStep[]): Step {
  const created = disks.map(() => false);
  return {
    name: `disks.${disks.length}`,
    resources: disks.map((d) => toTxnResource(d.resource)),
    durableWhenDone: true,
    async do() {
      for (let i = 0; i < disks.length; i++) {
        const claim = disks[i]!.claim;
        if (!claim) continue;
        try {
          await claim();
          created[i] = true;
        } catch (err) {
          throw setNothingCreated(err, !created.some(Boolean));
        }
      }
      const results = await Promise.allSettled(disks.map(async (d, i) => {
        try {
          await d.run();
          created[i] = true;
        } catch (err) {
          // A run that provably created nothing (O_EXCL hit someone else's file) is not undone.
          if (!(err as { nothingCreated?: boolean }).nothingCreated) created[i] = true;
          throw err;
        }
        // This disk is done (and marked for undo); the others may still be running.
        failpoint(`${kind}.prepare.disk.after`);
      }));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw setNothingCreated(failed.reason, !created.some(Boolean));
      // Every new file's data was fsynced by its writer; its directory entry is made
      // durable here, once per directory, so the engine need not sync each file again.
      fsyncDirsOf(disks.flatMap((d) => (d.resource.kind === 'created-file' ? [d.resource.path] : [])));
    },
    async undo() {
      for (let i = disks.length - 1; i >= 0; i--) if (created[i]) await undoResource(disks[i]!.resource);
    },
  };
}
