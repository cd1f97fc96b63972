/**
 * The atomic live external disk-only snapshot. Everything slow or fallible happens
 * before the switch: overlays are created (in parallel, 0600) and attached with
 * `blockdev-add … backing: null`; then ONE QMP `transaction` of `blockdev-snapshot`
 * actions moves every disk onto its overlay, or none. On any failure every added node is
 * deleted and every created file removed, so QEMU's graph and the directories are as
 * before. Split into plan (no side effects: the driver journals the plan) and execute.
 */
import { isAbsolute, normalize, dirname } from 'node:path';
import { lstat, stat } from 'node:fs/promises';
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { QmpClient } from './qmp-client.js';
import { QmpDisconnectedError, QmpTimeoutError, qmpErrorToVirError } from './qmp-errors.js';
import { expectArray, isJsonObject, optionalString, type JsonObject } from './qmp-json.js';
import { parseQueryBlock, readActiveChain, type ActiveDiskChain } from './active-chain.js';
import { diskNodeNames, overlayGenerationOf, type DiskNodeNames } from './disk-node-names.js';
import { createOverlayImage, fsyncDirectories, removeOverlayImage } from './overlay-image.js';
import { inspectImage } from '../image-inspect.js';

/** One disk to snapshot. */
export interface LiveDiskSnapshotRequest {
  /** The disk's target (vda). */
  target: string;
  /** Absolute path of the new overlay; must not exist. */
  overlayPath: string;
  /** Only qcow2 overlays are supported (the default). */
  overlayFormat?: 'qcow2';
  /** --reuse-external: the overlay exists already (qcow2, backed by the disk's current image) and is used as is. */
  reuse?: boolean;
}

/** Everything decided for one disk before any side effect; journal this. */
export interface PlannedDiskOverlay {
  target: string;
  qdev: string;
  /** The node the disk uses now, which becomes the overlay's backing. */
  baseNode: string;
  /** The file of `baseNode`, written into the overlay header. */
  backingPath: string;
  backingFormat: string;
  overlayPath: string;
  overlayFormat: 'qcow2';
  /** The overlay's generation (1 for the first live overlay of this disk in this QEMU). */
  generation: number;
  overlayNodes: DiskNodeNames;
  /** The overlay existed before (--reuse-external): never created nor removed by us. */
  reused?: boolean;
}

/** The full plan of one snapshot. */
export interface LiveDiskSnapshotPlan {
  disks: PlannedDiskOverlay[];
}

/** Options for {@link executeLiveDiskSnapshot}. */
export interface LiveDiskSnapshotOptions {
  /** Pause vCPUs around the transaction (`stop`/`cont`); the transaction drains I/O anyway. */
  pauseGuest?: boolean;
  /** Appended to the transaction's actions: fault injection for tests, e.g. `{type: 'abort', data: {}}`. */
  extraActions?: readonly JsonObject[];
  /**
   * Called after each step, for journaling and failpoints. A throw before `switched` rolls
   * everything back; a throw at `switched` leaves the disks on their overlays (outcome
   * `switched`: the caller must record or undo the switch).
   */
  onStep?: (step: LiveDiskSnapshotStep) => void | Promise<void>;
  /** Timeout for each QMP command; default 60 s. */
  timeoutMs?: number;
}

/** The points {@link LiveDiskSnapshotOptions.onStep} is called at. */
export type LiveDiskSnapshotStep =
  /** Every overlay file exists, formatted and fsynced. */
  | 'overlays-created'
  /** Every overlay is attached as a block node (not yet in use). */
  | 'overlays-attached'
  /** The transaction succeeded: every disk writes to its overlay. */
  | 'switched';

/** Milliseconds spent in each phase. */
export interface LiveDiskSnapshotTimings {
  createOverlaysMs: number;
  blockdevAddMs: number;
  /** The switch itself (with stop/cont when pausing): the guest-visible critical section. */
  transactionMs: number;
  verifyMs: number;
}

/** What the driver records after a successful switch. */
export interface LiveDiskSnapshotResult {
  plan: LiveDiskSnapshotPlan;
  /** query-block after the switch, per disk. */
  chains: ActiveDiskChain[];
  timings: LiveDiskSnapshotTimings;
}

/**
 * A failed live snapshot. `outcome` says what state things are in:
 * `rolled-back` (nothing changed; cleanup done); `switched` (every disk is on its overlay
 * but a later step failed: record or undo it); or `unknown` (QEMU stopped answering
 * during the switch: the files were kept so recovery can decide with query-block or
 * `qemu-img info`).
 */
export class LiveDiskSnapshotError extends Error {
  override readonly name = 'LiveDiskSnapshotError';
  constructor(
    readonly outcome: 'rolled-back' | 'switched' | 'unknown',
    override readonly cause: unknown,
    readonly plan: LiveDiskSnapshotPlan,
    /** Failures of the cleanup itself (a node or file that could not be removed). */
    readonly cleanupErrors: readonly unknown[],
  ) {
    super(`live disk snapshot failed (${outcome}): ${cause instanceof Error ? cause.message : String(cause)}`);
  }

  /** The VirError to report to the user (libvirt's wording for the underlying failure). */
  toVirError(): VirError {
    return qmpErrorToVirError(this.cause);
  }
}

/**
 * Checks the requests against the running QEMU and decides node names and backing files.
 * No side effects. Throws VirError for anything that would fail later.
 */
export async function planLiveDiskSnapshot(qmp: QmpClient, requests: readonly LiveDiskSnapshotRequest[]): Promise<LiveDiskSnapshotPlan> {
  if (requests.length === 0) throw invalid('no disks to snapshot');
  // Both queries at once: the monitor answers in order, without waiting for us in between.
  const [chains, nodeNames] = await Promise.all([readActiveChain(qmp), listNodeNames(qmp)]);
  const inUseFiles = new Set(chains.flatMap((c) => c.chain.map((l) => l.filename)));
  // The file checks of every disk at once (each is a few file-system round trips); their
  // results are looked at below in disk order, so the first failing disk is still the one reported.
  const fileChecks = requests.map((req) => {
    const chain = chains.find((c) => c.target === req.target);
    return chain ? settle(checkOverlayFiles(req, chain)) : undefined;
  });
  const seenTargets = new Set<string>();
  const seenPaths = new Set<string>();
  const disks: PlannedDiskOverlay[] = [];
  for (const [index, req] of requests.entries()) {
    if (seenTargets.has(req.target)) throw invalid(`disk '${req.target}' is listed twice`);
    seenTargets.add(req.target);
    const chain = chains.find((c) => c.target === req.target);
    if (!chain) throw invalid(`disk '${req.target}' is not attached to the running domain`);
    if (chain.readOnly) throw unsupported(`cannot snapshot read-only disk '${req.target}'`);
    if (chain.file.startsWith('json:')) throw unsupported(`disk '${req.target}' has no plain file name`);
    const overlayPath = req.overlayPath;
    if (!isAbsolute(overlayPath) || normalize(overlayPath) !== overlayPath) {
      throw unsupported(`external snapshot file path '${overlayPath}' must be absolute and normalised`);
    }
    if (seenPaths.has(overlayPath)) throw invalid(`external snapshot file '${overlayPath}' is used by two disks`);
    seenPaths.add(overlayPath);
    if (inUseFiles.has(overlayPath)) throw invalid(`external snapshot file '${overlayPath}' is in use by the domain`);
    const checked = await fileChecks[index]!;
    if (checked.error !== undefined) throw checked.error;
    const generation = Math.max(0, ...nodeNames.map((n) => overlayGenerationOf(n, req.target) ?? 0)) + 1;
    const overlayNodes = diskNodeNames(req.target, generation);
    disks.push({
      target: req.target,
      qdev: chain.qdev,
      baseNode: chain.nodeName,
      backingPath: chain.file,
      backingFormat: chain.format,
      overlayPath,
      overlayFormat: req.overlayFormat ?? 'qcow2',
      generation,
      overlayNodes,
      ...(req.reuse ? { reused: true } : {}),
    });
  }
  return { disks };
}

/** Runs a plan: prepare overlays, switch in one transaction, verify; all or nothing. */
export async function executeLiveDiskSnapshot(
  qmp: QmpClient, plan: LiveDiskSnapshotPlan, opts: LiveDiskSnapshotOptions = {},
): Promise<LiveDiskSnapshotResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const createdFiles: string[] = [];
  const addedNodes: string[] = [];
  const t0 = performance.now();

  const rollBack = async (cause: unknown): Promise<never> => {
    const cleanupErrors: unknown[] = [];
    for (const node of [...addedNodes].reverse()) {
      // Deleting the format node also drops the file child defined inline with it.
      await qmp.execute('blockdev-del', { 'node-name': node }, { timeoutMs }).catch((e: unknown) => { cleanupErrors.push(e); });
    }
    for (const file of [...createdFiles].reverse()) {
      await removeOverlayImage(file).catch((e: unknown) => { cleanupErrors.push(e); });
    }
    throw new LiveDiskSnapshotError('rolled-back', cause, plan, cleanupErrors);
  };

  // 1. Create every overlay, in parallel, and wait for ALL of them even if one fails:
  //    a creation still in flight during cleanup would leave a file behind.
  const creations = await Promise.allSettled(plan.disks.map((d) => createOverlayImage(
    { path: d.overlayPath, format: d.overlayFormat, backingPath: d.backingPath, backingFormat: d.backingFormat },
    (p) => { createdFiles.push(p); },
  )));
  const failedCreation = creations.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failedCreation) return rollBack(failedCreation.reason);
  try {
    await fsyncDirectories(createdFiles);
    await opts.onStep?.('overlays-created');
  } catch (err) {
    return rollBack(err);
  }
  const t1 = performance.now();

  // 2. Attach each overlay without a backing: blockdev-snapshot links it to the base, and
  //    opening the base a second time would fail on its write lock. Commands are pipelined.
  const adds = await Promise.allSettled(plan.disks.map(async (d) => {
    await qmp.execute('blockdev-add', {
      driver: d.overlayFormat,
      'node-name': d.overlayNodes.format,
      file: { driver: 'file', filename: d.overlayPath, 'node-name': d.overlayNodes.file },
      backing: null,
    }, { timeoutMs });
    addedNodes.push(d.overlayNodes.format);
  }));
  const failedAdd = adds.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failedAdd) return rollBack(failedAdd.reason);
  try {
    await opts.onStep?.('overlays-attached');
  } catch (err) {
    return rollBack(err);
  }
  const t2 = performance.now();

  // 3. The switch.
  const actions: JsonObject[] = plan.disks.map((d) => ({
    type: 'blockdev-snapshot', data: { node: d.baseNode, overlay: d.overlayNodes.format },
  }));
  actions.push(...(opts.extraActions ?? []));
  let paused = false;
  try {
    if (opts.pauseGuest && await isRunning(qmp, timeoutMs)) {
      await qmp.execute('stop', undefined, { timeoutMs });
      paused = true;
    }
    await switchDisks(qmp, plan, actions, timeoutMs, rollBack);
  } finally {
    if (paused) await qmp.execute('cont', undefined, { timeoutMs }).catch(() => undefined);
  }
  const t3 = performance.now();
  const transactionMs = t3 - t2;
  try {
    await opts.onStep?.('switched');
  } catch (err) {
    throw new LiveDiskSnapshotError('switched', err, plan, []);
  }

  // 4. Verify: every disk's top node is its overlay, backed by the old top file.
  const chains = await readActiveChain(qmp);
  for (const d of plan.disks) {
    const c = chains.find((x) => x.target === d.target);
    if (!c || c.nodeName !== d.overlayNodes.format || c.chain[1]?.filename !== d.backingPath) {
      throw new LiveDiskSnapshotError('unknown',
        virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `disk '${d.target}' is not on its new overlay after the transaction`),
        plan, []);
    }
  }
  const t4 = performance.now();
  return {
    plan,
    chains,
    timings: { createOverlaysMs: t1 - t0, blockdevAddMs: t2 - t1, transactionMs, verifyMs: t4 - t3 },
  };
}

/** Plans and executes in one call (for callers that do not journal between the two). */
export async function createLiveDiskSnapshot(
  qmp: QmpClient, requests: readonly LiveDiskSnapshotRequest[], opts: LiveDiskSnapshotOptions = {},
): Promise<LiveDiskSnapshotResult> {
  return executeLiveDiskSnapshot(qmp, await planLiveDiskSnapshot(qmp, requests), opts);
}

/**
 * Runs the transaction. A QMP error means QEMU rolled its graph back: undo our side too.
 * A timeout or lost connection leaves the outcome open: ask QEMU which state it is in.
 */
async function switchDisks(
  qmp: QmpClient, plan: LiveDiskSnapshotPlan, actions: JsonObject[], timeoutMs: number,
  rollBack: (cause: unknown) => Promise<never>,
): Promise<void> {
  try {
    await qmp.execute('transaction', { actions }, { timeoutMs });
  } catch (err) {
    if (!(err instanceof QmpTimeoutError || err instanceof QmpDisconnectedError)) return rollBack(err);
    // The monitor runs commands in order, so a query-block answered now reflects the
    // state after the transaction, whatever became of its reply.
    const switched = await switchState(qmp, plan, timeoutMs);
    if (switched === 'none') return rollBack(err);
    if (switched === 'unknown') throw new LiveDiskSnapshotError('unknown', err, plan, []);
    // 'all': the reply was lost but the switch happened; the caller verifies and records it.
  }
}

/** Whether the plan's disks are all on their overlays, none is, or QEMU cannot say. */
async function switchState(qmp: QmpClient, plan: LiveDiskSnapshotPlan, timeoutMs: number): Promise<'all' | 'none' | 'unknown'> {
  if (qmp.isClosed) return 'unknown';
  try {
    const chains = parseQueryBlock(await qmp.execute('query-block', undefined, { timeoutMs }));
    const onOverlay = plan.disks.map((d) => chains.find((c) => c.target === d.target)?.nodeName === d.overlayNodes.format);
    if (onOverlay.every(Boolean)) return 'all';
    if (!onOverlay.some(Boolean)) return 'none';
    return 'unknown';
  } catch {
    return 'unknown';
  }
}

async function isRunning(qmp: QmpClient, timeoutMs: number): Promise<boolean> {
  const status = await qmp.execute('query-status', undefined, { timeoutMs });
  return isJsonObject(status) && status.running === true;
}

async function listNodeNames(qmp: QmpClient): Promise<string[]> {
  const nodes = expectArray(await qmp.execute('query-named-block-nodes', { flat: true }), 'query-named-block-nodes');
  return nodes.flatMap((n) => {
    const name = isJsonObject(n) ? optionalString(n, 'node-name') : undefined;
    return name === undefined ? [] : [name];
  });
}

/** A promise's outcome as a value: awaited later, a failure is never an unhandled rejection. */
async function settle(p: Promise<void>): Promise<{ error?: unknown }> {
  try {
    await p;
    return {};
  } catch (error) {
    return { error };
  }
}

/**
 * The file-system checks of one disk's overlay: absent (or, with --reuse-external, a
 * qcow2 image on the disk's current image), in an existing directory.
 */
async function checkOverlayFiles(req: LiveDiskSnapshotRequest, chain: ActiveDiskChain): Promise<void> {
  const overlayPath = req.overlayPath;
  if (req.reuse) {
    await checkReusableOverlay(req.target, overlayPath, chain.file, chain.format);
  } else if (await exists(overlayPath)) {
    throw invalid(`external snapshot file for disk ${req.target} already exists and is not a block device: ${overlayPath}`);
  }
  const dir = await stat(dirname(overlayPath)).catch(() => undefined);
  if (!dir?.isDirectory()) throw invalid(`directory of external snapshot file '${overlayPath}' does not exist`);
}

/**
 * An overlay given with --reuse-external must be a qcow2 image whose header names the
 * disk's current image and format: blockdev-snapshot does not rewrite the header, so a
 * wrong one would make the chain fail to reopen after a restart.
 */
async function checkReusableOverlay(target: string, path: string, backing: string, backingFormat: string): Promise<void> {
  if (!await exists(path)) {
    throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, `missing existing file for disk ${target}: ${path}`);
  }
  // Read without the lock check (as qemu-img info -U): QEMU does not have this file open.
  // A file that does not open as qcow2 fails the same check as one with the wrong backing.
  const info = await inspectImage(path, 'qcow2').catch(() => undefined);
  const named = info?.fullBackingFilename;
  const namedFormat = info?.backingFormat;
  if (info?.format !== 'qcow2' || named !== backing || (namedFormat ?? backingFormat) !== backingFormat) {
    throw unsupported(`existing external snapshot file '${path}' for disk ${target} must be a qcow2 image backed by '${backing}' (${backingFormat})`);
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

function invalid(detail: string): VirError {
  return virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, detail);
}

function unsupported(detail: string): VirError {
  return virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU, detail);
}
