/**
 * Pulling a running disk's backing layers into its active layer with QMP block-stream
 * (virDomainBlockPull, virDomainBlockRebase without COPY): the data of every layer above
 * `base` (all of them when base is null) is copied into the top, whose backing then
 * becomes `base`. Every image keeps the view it had; only the top's backing link and
 * allocation change. Restartable as block-commit.ts is: a stable job id finds a job a
 * killed process left behind, and a top already on `base` is done.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { parseQueryBlock } from './active-chain.js';
import { findJob, formatNodeOf, isJobEnd, jobError, namedNodes, withProgress } from './block-commit.js';
import type { QmpClient } from './qmp-client.js';
import { QmpJobError } from './qmp-errors.js';
import type { JsonObject } from './qmp-json.js';

/** One pull: into the top `top` of disk `target`, from the layers above `base`. */
export interface BlockStreamRequest {
  target: string;
  top: string;
  /** The layer that stays the top's backing; null pulls everything (the top stands alone). */
  base: string | null;
  timeoutMs?: number;
  onProgress?: (offset: number, len: number) => void;
  onStarted?: () => void;
}

/** The job id used for pulling into `target` (stable, so a rerun finds a leftover job). */
export function streamJobId(target: string): string {
  return `snapvirt-stream-${target}`;
}

function failed(detail: string): Error {
  return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, detail);
}

/** Pulls into the top of `target`; false when nothing was left to pull (an earlier run finished). */
export async function blockStreamLayer(qmp: QmpClient, req: BlockStreamRequest): Promise<boolean> {
  const jobId = streamJobId(req.target);
  const done = qmp.waitForEvent((ev) => isJobEnd(ev, jobId), req.timeoutMs ?? 6 * 3600_000);
  done.catch(() => undefined);
  const chain = parseQueryBlock(await qmp.execute('query-block')).find((c) => c.target === req.target);
  if (!chain) throw failed(`disk '${req.target}' is not attached to the running domain`);
  const files = chain.chain.map((l) => l.filename);
  if (files[0] !== req.top) throw failed(`disk '${req.target}' is no longer on '${req.top}'`);
  const existing = await findJob(qmp, jobId);
  if (!existing) {
    if (files[1] === (req.base ?? undefined)) return false;
    const args: JsonObject = { 'job-id': jobId, device: chain.nodeName };
    if (req.base !== null) {
      const baseNode = files.includes(req.base) ? formatNodeOf(await namedNodes(qmp), req.base) : undefined;
      if (!baseNode) throw failed(`'${req.base}' is not in the backing chain of disk '${req.target}'`);
      args['base-node'] = baseNode;
    }
    await qmp.execute('block-stream', args);
    req.onStarted?.();
  } else if (existing.status === 'concluded') {
    await qmp.execute('job-dismiss', { id: jobId });
    return true;
  }
  const end = await withProgress(qmp, jobId, done, req.onProgress);
  const error = jobError(end);
  if (error !== undefined) throw new QmpJobError(jobId, 'stream', error);
  return true;
}
