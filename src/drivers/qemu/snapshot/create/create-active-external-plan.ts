/**
 * The plan of a live external disk-only snapshot: every check that needs the running QEMU
 * (query-block, node names) and the file system, and every name decided (overlay node
 * names, backing file and format), with no side effect, so the driver can journal the
 * plan before it acts. The driver then runs it as journaled steps
 * (create-active-external-steps.ts: overlays created, attached with `blockdev-add … backing:
 * null`) and one QMP `transaction` (switchToOverlays in create-active.ts).
 */
import { isAbsolute, normalize, dirname } from 'node:path';
import { lstat, stat } from 'node:fs/promises';
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import type { QmpClient } from '../../qmp/qmp-client.js';
import { expectArray, isJsonObject, optionalString } from '../../qmp/qmp-json.js';
import { readActiveChain, type ActiveDiskChain } from '../../qmp/active-chain.js';
import { diskNodeNames, overlayGenerationOf, type DiskNodeNames } from '../../qmp/disk-node-names.js';
import { inspectImage } from '../../images/image-inspect.js';
import { refuseLoopingChain } from '../../images/chain-inspect.js';

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
  // QEMU's graph cannot loop, but the headers on disk may have been changed under it; the
  // overlay is written natively, without opening the chain, so the loop is looked for here.
  await refuseLoopingChain({ path: chain.file, format: chain.format });
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
