/**
 * A block-commit that can be taken back: the merge of one layer of a running disk into the
 * layer below, done before a delete's commit point, so that an abort (or a failure, or a
 * crash of snapvirt while QEMU runs) rolls it back with nothing lost.
 *
 * While the merge copies, a copy-before-write filter sits between the overlay and its base:
 * before any cluster of the base is overwritten, QEMU copies the base's old bytes into an
 * undo image (an empty qcow2 the caller created). The commit is an intermediate one that
 * stops before its graph change (auto-finalize off), so its end is a second, short step:
 *
 *   stage:   [active: a temporary overlay on top, so the merged layer is read-only]
 *            chain made explicit (explicit-chain.ts), base read-write, undo node, filter,
 *            overlay → filter, block-commit overlay → filter, wait for PENDING
 *   cancel:  job-cancel, overlay → base, filter and undo node gone, then the undo image is
 *            written back into the base (it is linked in under the overlay and committed
 *            down, which QEMU allows while the overlay reads the base; QEMU rewrites the
 *            overlay's backing name to the base's path), base read-only,
 *            [the temporary overlay pivoted back into the overlay]
 *   finish:  job-finalize, the layer above → base (its header too), filter and undo gone,
 *            base read-only again (which flushes it), the caller's bookkeeping (the
 *            overlay removed), [the temporary overlay pivoted into the base]
 *
 * A temporary overlay's pivot stops the guest's vCPUs for its last part (when it ran) and
 * flushes the layer it went into; the caller removes its file, then resumes the guest
 * (resumeGuest). So while that file exists nothing newer than it is below it.
 *
 * Every function is restartable from any state the others leave, found again from QEMU's
 * graph by the fixed node names and job ids below.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { parseQueryBlock } from './active-chain.js';
import { blockCommitLayer, commitJobId, formatNodeOf, namedNodes, type NodeInfo } from './block-commit.js';
import { diskNodeNames, overlayGenerationOf } from './disk-node-names.js';
import { fileNodeOf, makeChainExplicit, readChainNodes, reopenLayer, type ChainNode } from './explicit-chain.js';
import type { QmpClient } from './qmp-client.js';
import { QmpJobError } from './qmp-errors.js';
import { expectArray, isJsonObject, optionalString, type JsonObject } from './qmp-json.js';

/** One undoable merge. */
export interface UndoableCommitRequest {
  target: string;
  /** The layer merged away. */
  overlay: string;
  /** The layer below it, merged into. */
  base: string;
  /** The layer right above the overlay when the overlay is not the disk's top. */
  above: string | undefined;
  /** The temporary overlay put on top when the overlay is the disk's top (its file exists, empty). */
  temp: string | undefined;
  /** The undo image (exists, empty qcow2 of the base's size). */
  undo: string;
  /** Whether the guest ran when the delete began: its vCPUs are stopped around a temporary top's pivot, then resumed. */
  wasRunning: boolean;
}

/** Places in the end and the undo of a merge where a crash test stops it (failpoints). */
export interface MergePoints {
  /** QEMU finalized the merge; the base is not flushed yet. */
  finalized?(): void;
  /** The temporary top is pivoted away (the guest stopped); its file is still there. */
  pivoted?(): void;
  /** The node that restores the base is added, not linked in yet. */
  restoreAdded?(): void;
}

/** What the waiting part reports and checks. */
export interface CommitHooks {
  onStarted?(): void;
  onProgress?(done: number, total: number): void;
  /** Throws to abandon the wait (an abort); the caller then cancels. */
  check?(): void;
}

/** How often a job's state is read at least (ms): progress, and the abort check. */
const POLL_MS = 200;

/**
 * The fixed names of a merge's nodes and jobs. An intermediate merge's job is the one users
 * see (snapvirtd reports snapvirt-commit-* jobs as block-job events, as libvirt reports its
 * commit); an active merge's copy runs under an internal id, its visible job is the active
 * commit of the temporary top into the base that ends it.
 */
const names = (req: UndoableCommitRequest): { job: string; restoreJob: string; unmergeJob: string; undo: string; filter: string; restore: string } => ({
  job: req.temp === undefined ? commitJobId(req.target) : `snapvirt-merge-${req.target}`,
  restoreJob: `snapvirt-restore-${req.target}`,
  unmergeJob: `snapvirt-unmerge-${req.target}`,
  undo: `undo-${req.target}-fmt`,
  filter: `cbw-${req.target}`,
  restore: `restore-${req.target}-fmt`,
});

function failed(detail: string): Error {
  return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, detail);
}

interface JobState {
  status: string;
  error?: string;
  done: number;
  total: number;
}

async function jobState(qmp: QmpClient, id: string): Promise<JobState | undefined> {
  for (const j of expectArray(await qmp.execute('query-jobs'), 'query-jobs')) {
    if (!isJsonObject(j) || j.id !== id) continue;
    const error = optionalString(j, 'error');
    return {
      status: optionalString(j, 'status') ?? '',
      ...(error === undefined ? {} : { error }),
      done: typeof j['current-progress'] === 'number' ? j['current-progress'] : 0,
      total: typeof j['total-progress'] === 'number' ? j['total-progress'] : 0,
    };
  }
  return undefined;
}

/**
 * Waits until job `id` reaches one of `until` (or concludes, or is gone) and returns its
 * last state: woken by QEMU's JOB_STATUS_CHANGE, and at least every POLL_MS for progress
 * and the abort check.
 */
async function waitJob(qmp: QmpClient, id: string, until: readonly string[], hooks: CommitHooks = {}): Promise<JobState | undefined> {
  for (;;) {
    // Armed before the query, so a change between the two is not missed.
    const changed = qmp.waitForEvent((ev) => ev.event === 'JOB_STATUS_CHANGE' && ev.data.id === id, POLL_MS).catch(() => undefined);
    const state = await jobState(qmp, id);
    if (!state || until.includes(state.status) || state.status === 'concluded') return state;
    hooks.onProgress?.(state.done, state.total);
    hooks.check?.();
    await changed;
  }
}

/** Ends a concluded job; throws its error when it failed. */
async function dismiss(qmp: QmpClient, id: string, state: JobState): Promise<void> {
  await qmp.execute('job-dismiss', { id });
  if (state.error !== undefined) throw new QmpJobError(id, 'commit', state.error);
}

const has = (nodes: NodeInfo[], name: string): boolean => nodes.some((n) => n.name === name);

async function deleteNode(qmp: QmpClient, name: string): Promise<void> {
  if (has(await namedNodes(qmp), name)) await qmp.execute('blockdev-del', { 'node-name': name });
}

/** The explicit layer of `file` in the running graph (found by file name, past any filter). */
function layerOf(nodes: NodeInfo[], file: string, format: string): ChainNode {
  const node = formatNodeOf(nodes, file);
  if (node === undefined) throw failed(`cannot find the block node of '${file}'`);
  return { filename: file, format, node, fileNode: fileNodeOf(node), readOnly: nodes.find((n) => n.name === node)?.ro ?? true };
}

function topNode(chains: ReturnType<typeof parseQueryBlock>, target: string): string {
  const chain = chains.find((c) => c.target === target);
  if (!chain) throw failed(`disk '${target}' is not attached to the running domain`);
  return chain.nodeName;
}

/** Runs the merge up to the point where only its graph change is left; see the module comment. */
export async function stageCommit(qmp: QmpClient, req: UndoableCommitRequest, hooks: CommitHooks = {}): Promise<void> {
  const n = names(req);
  if (req.temp !== undefined) await putTempOnTop(qmp, req.target, req.overlay, req.temp);
  const chain = await makeChainExplicit(qmp, req.target, req.base);
  const oi = chain.findIndex((l) => l.filename === req.overlay);
  const bi = oi + 1;
  if (oi <= 0 || chain[bi]?.filename !== req.base) throw failed(`'${req.base}' is not the backing image of '${req.overlay}' in disk '${req.target}'`);
  const overlay = chain[oi]!;
  const base = chain[bi]!;
  await reopenLayer(qmp, base, { backing: chain[bi + 1]?.node ?? null, readOnly: false });
  await qmp.execute('blockdev-add', {
    driver: 'qcow2', 'node-name': n.undo, backing: null,
    // Never flushed: it is trusted only while this QEMU runs (after that, recovery goes forward).
    cache: { 'no-flush': true },
    file: { driver: 'file', filename: req.undo, 'node-name': fileNodeOf(n.undo) },
  });
  await qmp.execute('blockdev-add', { driver: 'copy-before-write', 'node-name': n.filter, file: base.node, target: n.undo });
  await reopenLayer(qmp, overlay, { backing: n.filter });
  const args: JsonObject = {
    'job-id': n.job, device: chain[0]!.node, 'top-node': overlay.node, 'base-node': n.filter,
    'auto-finalize': false, 'auto-dismiss': false,
  };
  await qmp.execute('block-commit', args);
  hooks.onStarted?.();
  const state = await waitJob(qmp, n.job, ['pending'], hooks);
  if (!state) throw failed(`the merge of disk '${req.target}' vanished from QEMU`);
  if (state.status !== 'pending') await dismiss(qmp, n.job, state);
  hooks.onProgress?.(state.total, state.total);
}

/** A temporary overlay over the disk's top, so the layer to merge stops being written. */
async function putTempOnTop(qmp: QmpClient, target: string, overlay: string, temp: string): Promise<void> {
  const chains = parseQueryBlock(await qmp.execute('query-block'));
  const files = chains.find((c) => c.target === target)?.chain.map((l) => l.filename) ?? [];
  if (files[0] === temp) return;
  if (files[0] !== overlay) throw failed(`'${overlay}' is no longer the top of disk '${target}'`);
  const taken = [...(await namedNodes(qmp)).map((x) => x.name)];
  const generation = Math.max(0, ...taken.map((x) => overlayGenerationOf(x, target) ?? 0)) + 1;
  const nodes = diskNodeNames(target, generation);
  await qmp.execute('blockdev-add', {
    driver: 'qcow2', 'node-name': nodes.format,
    file: { driver: 'file', filename: temp, 'node-name': nodes.file }, backing: null,
  });
  await qmp.execute('blockdev-snapshot', { node: topNode(chains, target), overlay: nodes.format });
}

/** Takes a staged (or partly staged) merge back; see the module comment. */
export async function cancelCommit(
  qmp: QmpClient, req: UndoableCommitRequest, formats: { overlay: string; base: string }, undoHasData: () => Promise<boolean>,
  points: MergePoints = {},
): Promise<void> {
  const n = names(req);
  const state = await jobState(qmp, n.job);
  if (state) {
    if (state.status !== 'concluded') await qmp.execute('job-cancel', { id: n.job });
    await qmp.execute('job-dismiss', { id: n.job }).catch(async () => {
      await waitJob(qmp, n.job, ['concluded']);
      await qmp.execute('job-dismiss', { id: n.job });
    });
  }
  let nodes = await namedNodes(qmp);
  const base = (): ChainNode => layerOf(nodes, req.base, formats.base);
  const overlay = (): ChainNode => layerOf(nodes, req.overlay, formats.overlay);
  if (has(nodes, n.filter)) {
    await reopenLayer(qmp, overlay(), { backing: base().node });
    await qmp.execute('blockdev-del', { 'node-name': n.filter });
  }
  await deleteNode(qmp, n.undo);
  await restoreBase(qmp, req, overlay, base, undoHasData, points);
  nodes = await namedNodes(qmp);
  const chain = await readChainNodes(qmp, req.target);
  const bi = chain.findIndex((l) => l.filename === req.base);
  if (bi > 0 && !chain[bi]!.readOnly && !chain[bi]!.node.startsWith('#')) {
    await reopenLayer(qmp, chain[bi]!, { backing: chain[bi + 1]?.node ?? null, readOnly: true });
  }
  if (req.temp === undefined) return;
  if (chain[0]?.filename === req.temp) {
    await pivotTemp(qmp, req, req.overlay, n.unmergeJob, points);
  } else {
    // Added but never put on top, or already merged back: only a node may be left.
    const temp = formatNodeOf(nodes, req.temp);
    if (temp !== undefined) await deleteNode(qmp, temp);
    await flushLayer(qmp, req.target, req.overlay);
  }
}

/**
 * Commits the temporary top into `into` (the overlay when taking a merge back, the base when
 * finishing one) with the guest's vCPUs stopped from before the pivot (when it ran), and
 * flushes `into`. The caller removes the temporary top's file, then resumes the guest
 * (resumeGuest): so while that file exists, nothing newer than it was written below it,
 * and committing it again (offline, after QEMU died) can never overwrite a guest's write.
 */
async function pivotTemp(qmp: QmpClient, req: UndoableCommitRequest, into: string, jobId: string, points: MergePoints): Promise<void> {
  if (req.wasRunning) {
    // Copy while the guest runs; stop it only for the last of it and the pivot.
    const chains = parseQueryBlock(await qmp.execute('query-block'));
    const files = chains.find((c) => c.target === req.target)?.chain.map((l) => l.filename) ?? [];
    if (files[0] === req.temp && !await jobState(qmp, jobId)) {
      const intoNode = formatNodeOf(await namedNodes(qmp), into);
      if (intoNode === undefined) throw failed(`cannot find the block node of '${into}'`);
      await qmp.execute('block-commit', { 'job-id': jobId, device: topNode(chains, req.target), 'base-node': intoNode });
    }
    if (await jobState(qmp, jobId)) await waitJob(qmp, jobId, ['ready']);
    await qmp.execute('stop');
  }
  await blockCommitLayer(qmp, { target: req.target, overlay: req.temp!, base: into, jobId });
  await flushLayer(qmp, req.target, into);
  points.pivoted?.();
}

/** Reopens layer `file` of disk `target` as it is, which makes QEMU flush it. */
async function flushLayer(qmp: QmpClient, target: string, file: string): Promise<void> {
  const chain = await readChainNodes(qmp, target);
  const i = chain.findIndex((l) => l.filename === file);
  if (i === -1 || chain[i]!.node.startsWith('#')) return;
  await reopenLayer(qmp, chain[i]!, { backing: chain[i + 1]?.node ?? null });
}

/** Lets the guest run again after a pivot stopped it (idempotent). */
export async function resumeGuest(qmp: QmpClient, req: UndoableCommitRequest): Promise<void> {
  if (!req.wasRunning) return;
  const status = await qmp.execute('query-status');
  if (isJsonObject(status) && status.running !== true) await qmp.execute('cont');
}

/**
 * Writes the undo image's clusters (the base's old bytes) back into the base: the undo
 * image is linked in between the overlay and the base and committed down. The overlay
 * covers every one of those clusters, so the guest never reads them while this runs.
 * Decided from the graph and the undo image alone, so a kill anywhere in it is taken up
 * again; writing the old bytes back twice is harmless.
 */
async function restoreBase(
  qmp: QmpClient, req: UndoableCommitRequest, overlay: () => ChainNode, base: () => ChainNode, undoHasData: () => Promise<boolean>,
  points: MergePoints,
): Promise<void> {
  const n = names(req);
  let state = await jobState(qmp, n.restoreJob);
  // An undo image with no data: the merge never overwrote a cluster.
  if (!state && await undoHasData()) {
    if (!has(await namedNodes(qmp), n.restore)) {
      await qmp.execute('blockdev-add', {
        driver: 'qcow2', 'node-name': n.restore,
        file: { driver: 'file', filename: req.undo, 'node-name': fileNodeOf(n.restore) }, backing: base().node,
      });
      points.restoreAdded?.();
    }
    await reopenLayer(qmp, overlay(), { backing: n.restore });
    const top = topNode(parseQueryBlock(await qmp.execute('query-block')), req.target);
    await qmp.execute('block-commit', {
      'job-id': n.restoreJob, device: top, 'top-node': n.restore, 'base-node': base().node, 'auto-dismiss': false,
    });
    state = await jobState(qmp, n.restoreJob);
  }
  if (state) {
    const end = await waitJob(qmp, n.restoreJob, ['concluded']);
    if (end) await dismiss(qmp, n.restoreJob, end);
  }
  // A restore node left from an earlier run that never got its commit: nothing uses it.
  if (has(await namedNodes(qmp), n.restore)) {
    const nodes = await namedNodes(qmp);
    await reopenLayer(qmp, layerOf(nodes, req.overlay, overlay().format), { backing: base().node });
    await deleteNode(qmp, n.restore);
  }
}

/**
 * Completes a staged merge (after the commit point; see the module comment), from whatever
 * state an earlier run left. `beforePivot` runs once the base holding the merged data is
 * flushed, before a temporary top is pivoted into it (the guest then stopped).
 */
export async function finishCommit(
  qmp: QmpClient, req: UndoableCommitRequest, formats: { above: string; base: string }, points: MergePoints = {},
  beforePivot: () => Promise<void> = async () => undefined,
): Promise<void> {
  const n = names(req);
  const state = await jobState(qmp, n.job);
  if (state) {
    if (state.status === 'pending') await qmp.execute('job-finalize', { id: n.job });
    const end = await waitJob(qmp, n.job, ['concluded']);
    if (end) await dismiss(qmp, n.job, end);
    points.finalized?.();
  }
  let nodes = await namedNodes(qmp);
  if (has(nodes, n.filter)) {
    const aboveFile = req.temp ?? req.above;
    if (aboveFile === undefined) throw failed(`the merge of disk '${req.target}' has no layer above it`);
    const above = layerOf(nodes, aboveFile, formats.above);
    const base = layerOf(nodes, req.base, formats.base);
    await reopenLayer(qmp, above, { backing: base.node });
    // QEMU wrote the filter's driver into the header as the backing format.
    const top = topNode(parseQueryBlock(await qmp.execute('query-block')), req.target);
    await qmp.execute('change-backing-file', { device: top, 'image-node-name': above.node, 'backing-file': req.base });
    // The merged layer's node: gone with its last parent, or kept by the monitor (blockdev-added).
    const old = formatNodeOf(nodes, req.overlay);
    if (old !== undefined) await qmp.execute('blockdev-del', { 'node-name': old }).catch(() => undefined);
    await qmp.execute('blockdev-del', { 'node-name': n.filter });
    nodes = await namedNodes(qmp);
  }
  await deleteNode(qmp, n.undo);
  // The base holds the merged layer's data from here on: flushed (and read-only again, as a
  // backing layer) before the caller removes the overlay.
  const chain = await readChainNodes(qmp, req.target);
  const bi = chain.findIndex((l) => l.filename === req.base);
  if (bi > 0 && !chain[bi]!.node.startsWith('#')) await reopenLayer(qmp, chain[bi]!, { backing: chain[bi + 1]?.node ?? null, readOnly: true });
  // The overlay is not needed any more (the caller removes it), before the guest is stopped.
  await beforePivot();
  if (req.temp === undefined) return;
  if (chain[0]?.filename === req.temp) await pivotTemp(qmp, req, req.base, commitJobId(req.target), points);
  else await flushLayer(qmp, req.target, req.base);
}
