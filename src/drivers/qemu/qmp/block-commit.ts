/**
 * Merging one layer of a running disk's chain into the layer below with QMP block-commit:
 * active commit when the layer is the disk's top (wait for READY, then
 * block-job-complete: the disk pivots onto the base), intermediate commit otherwise (no
 * READY phase; QEMU rewrites the upper image's backing to the base). block-commit is not
 * transactional, so callers journal one merge per disk; this function is restartable:
 * a layer already gone from the chain is done, and a job a killed process left behind
 * (an active commit waits in READY forever) is picked up by its id and finished.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { parseQueryBlock } from './active-chain.js';
import type { QmpClient, QmpEvent } from './qmp-client.js';
import { QmpJobError } from './qmp-errors.js';
import { expectArray, isJsonObject, optionalString, type JsonObject } from './qmp-json.js';

/** One merge: the layer `overlay` of disk `target` into the layer right below it, `base`. */
export interface BlockCommitRequest {
  target: string;
  /** File of the layer merged away. */
  overlay: string;
  /** File of the layer it is merged into (must be the overlay's backing in the chain). */
  base: string;
  /** Bound on the whole merge; default 6 hours (a merge takes as long as the data needs). */
  timeoutMs?: number;
  /** Progress callback (bytes done, bytes total), from query-block-jobs while waiting. */
  onProgress?: (offset: number, len: number) => void;
  /** Called once this call has started the job in QEMU (a failpoint's place: a kill leaves the job running). */
  onStarted?: () => void;
  /** The job's id; default commitJobId(target), the id snapvirtd reports block-job events of. */
  jobId?: string;
}

/** What happened. */
export interface BlockCommitResult {
  /** false when the overlay was already gone from the chain (an earlier run merged it). */
  merged: boolean;
  mode: 'active' | 'intermediate' | 'none';
  /** Node names deleted after the merge (blockdev-add'ed layers stay until deleted). */
  deletedNodes: string[];
  ms: number;
}

/** One block node of query-named-block-nodes. */
export interface NodeInfo {
  name: string;
  drv: string;
  file: string;
  /** Whether the node is read-only now. */
  ro: boolean;
}

/** Every named block node, flat. */
export async function namedNodes(qmp: QmpClient): Promise<NodeInfo[]> {
  const nodes = expectArray(await qmp.execute('query-named-block-nodes', { flat: true }), 'query-named-block-nodes');
  return nodes.flatMap((n) => {
    if (!isJsonObject(n)) return [];
    const name = optionalString(n, 'node-name');
    const drv = optionalString(n, 'drv');
    const file = optionalString(n, 'file');
    return name === undefined || drv === undefined || file === undefined ? [] : [{ name, drv, file, ro: n.ro === true }];
  });
}

/** Drivers of nodes that carry another node's file name without being its format node. */
const NOT_FORMAT_DRIVERS = new Set(['file', 'host_device', 'commit_top', 'mirror_top', 'copy-on-read', 'throttle', 'copy-before-write']);

/**
 * The format node that has `file` open: not its protocol node, and not the filter node a
 * running commit job puts on top of it (which reports the same file name).
 */
export function formatNodeOf(nodes: NodeInfo[], file: string): string | undefined {
  return nodes.find((n) => n.file === file && !NOT_FORMAT_DRIVERS.has(n.drv))?.name;
}

function failed(detail: string): Error {
  return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, detail);
}

/** The job id used for merging a layer of `target` (stable, so a rerun finds a leftover job). */
export function commitJobId(target: string): string {
  return `snapvirt-commit-${target}`;
}

/** Merges `overlay` into `base` in the running disk `target`; see the module comment. */
export async function blockCommitLayer(qmp: QmpClient, req: BlockCommitRequest): Promise<BlockCommitResult> {
  const started = performance.now();
  const timeoutMs = req.timeoutMs ?? 6 * 3600_000;
  const chain = parseQueryBlock(await qmp.execute('query-block')).find((c) => c.target === req.target);
  if (!chain) throw failed(`disk '${req.target}' is not attached to the running domain`);
  const files = chain.chain.map((l) => l.filename);
  const index = files.indexOf(req.overlay);
  const jobId = req.jobId ?? commitJobId(req.target);
  const existing = await findJob(qmp, jobId);
  if (index !== -1 && files[index + 1] !== req.base) {
    throw failed(`'${req.base}' is not the backing image of '${req.overlay}' in disk '${req.target}'`);
  }
  const nodes = await namedNodes(qmp);
  const overlayNode = formatNodeOf(nodes, req.overlay);
  const active = index === 0 || (existing?.type === 'commit' && existing.status === 'ready');
  if (index === -1 && !existing) {
    // Merged by an earlier run that died before deleting the layer's node: delete it now.
    return { ...await finish(), merged: false, mode: 'none' };
  }
  const done = qmp.waitForEvent((ev) => isJobEnd(ev, jobId), timeoutMs);
  done.catch(() => undefined);
  if (!existing) {
    const baseNode = formatNodeOf(nodes, req.base);
    if (!overlayNode || !baseNode) throw failed(`cannot find the block nodes of disk '${req.target}'`);
    const args: JsonObject = { 'job-id': jobId, device: chain.nodeName, 'base-node': baseNode };
    if (!active) args['top-node'] = overlayNode;
    if (active) {
      const ready = qmp.waitForEvent((ev) => ev.event === 'BLOCK_JOB_READY' && ev.data.device === jobId, timeoutMs);
      ready.catch(() => undefined);
      await qmp.execute('block-commit', args);
      req.onStarted?.();
      await Promise.race([ready, done.then((ev) => { throw jobFailure(jobId, ev); })]);
      await qmp.execute('block-job-complete', { device: jobId });
    } else {
      await qmp.execute('block-commit', args);
      req.onStarted?.();
    }
  } else if (existing.status === 'ready') {
    await qmp.execute('block-job-complete', { device: jobId });
  } else if (existing.status === 'concluded') {
    await qmp.execute('job-dismiss', { id: jobId });
    return finish();
  } else if (active) {
    // A leftover active commit still copying: it will wait in READY for us.
    const ready = qmp.waitForEvent((ev) => ev.event === 'BLOCK_JOB_READY' && ev.data.device === jobId, timeoutMs);
    ready.catch(() => undefined);
    if ((await findJob(qmp, jobId))?.status !== 'ready') await ready;
    await qmp.execute('block-job-complete', { device: jobId });
  }
  const end = await withProgress(qmp, jobId, done, req.onProgress);
  const error = jobError(end);
  if (error !== undefined) throw new QmpJobError(jobId, 'commit', error);
  return finish();

  async function finish(): Promise<BlockCommitResult> {
    // A layer added with blockdev-add (or on the command line) stays in QEMU until deleted.
    const deletedNodes: string[] = [];
    const inUse = new Set(parseQueryBlock(await qmp.execute('query-block')).map((c) => c.nodeName));
    for (const node of [overlayNode, overlayNode?.replace(/-fmt$/, '-file')]) {
      if (node === undefined || inUse.has(node)) continue;
      if (!(await namedNodes(qmp)).some((n) => n.name === node)) continue;
      try {
        await qmp.execute('blockdev-del', { 'node-name': node });
        deletedNodes.push(node);
      } catch {
        // Still referenced (e.g. by another image's backing link): harmless, it goes with QEMU.
      }
    }
    return { merged: true, mode: active ? 'active' : 'intermediate', deletedNodes, ms: performance.now() - started };
  }
}

/** Whether `ev` ends job `jobId` (completed or cancelled). */
export function isJobEnd(ev: QmpEvent, jobId: string): boolean {
  return (ev.event === 'BLOCK_JOB_COMPLETED' || ev.event === 'BLOCK_JOB_CANCELLED') && ev.data.device === jobId;
}

/** The job's failure, from its end event; undefined when it succeeded. */
export function jobError(ev: QmpEvent): string | undefined {
  if (ev.event === 'BLOCK_JOB_CANCELLED') return 'cancelled';
  return typeof ev.data.error === 'string' ? ev.data.error : undefined;
}

function jobFailure(jobId: string, ev: QmpEvent): Error {
  return new QmpJobError(jobId, 'commit', jobError(ev) ?? 'ended before it was ready');
}

/** The job `jobId` with its type and status, when QEMU has it. */
export async function findJob(qmp: QmpClient, jobId: string): Promise<{ type: string; status: string } | undefined> {
  const jobs = expectArray(await qmp.execute('query-jobs'), 'query-jobs');
  for (const j of jobs) {
    if (isJsonObject(j) && j.id === jobId) return { type: optionalString(j, 'type') ?? '', status: optionalString(j, 'status') ?? '' };
  }
  return undefined;
}

/** Waits for the job's end event, reporting progress every 500 ms when asked to. */
export async function withProgress(
  qmp: QmpClient, jobId: string, done: Promise<QmpEvent>, onProgress: ((offset: number, len: number) => void) | undefined,
): Promise<QmpEvent> {
  if (!onProgress) return done;
  let finished = false;
  const settled = done.then(() => undefined, () => undefined);
  const poll = (async () => {
    while (!finished) {
      // Woken by the job's end too: the caller waits for this loop, not for a whole interval.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((r) => { timer = setTimeout(r, 500); }), settled]);
      clearTimeout(timer);
      if (finished) break;
      const jobs = await qmp.execute('query-block-jobs').catch(() => []);
      for (const j of Array.isArray(jobs) ? jobs : []) {
        if (isJsonObject(j) && j.device === jobId && typeof j.offset === 'number' && typeof j.len === 'number') onProgress(j.offset, j.len);
      }
    }
  })();
  try {
    return await done;
  } finally {
    finished = true;
    await poll;
  }
}
