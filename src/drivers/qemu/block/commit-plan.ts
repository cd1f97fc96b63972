/**
 * Which layers a virDomainBlockCommit merges, from the disk's running chain and the
 * call's top, base and flags, with libvirt's checks and messages (qemuDomainBlockCommit,
 * virStorageSourceChainLookup). Pure: no I/O, so every refusal comes before anything moves.
 */
import { resolve } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { BlockCommitFlags as F } from '../../../api/flags.js';
import type { ChainLayer } from '../qmp/active-chain.js';

/** One merge of the plan: layer `overlay` into `base`, the layer above (if any) re-pointed at base. */
export interface PlannedMerge {
  overlay: string;
  base: string;
  baseFormat: string;
  above: string | undefined;
}

/** What a commit does: the layers from `top` down to just above `base`, merged bottom first. */
export interface CommitPlan {
  top: string;
  base: string;
  active: boolean;
  /** Layers above the top, which stay (QEMU re-points the lowest of them at the base). */
  above: string[];
  /** Layers merged away, top first (they leave the chain; their files stay unless DELETE). */
  dropped: string[];
  merges: PlannedMerge[];
}

function invalid(message: string): Error {
  return virError(VirErrorCode.INVALID_ARG, VirErrorDomain.QEMU, message);
}

/** The index of `name` in `files` from `from` down, or libvirt's "could not find image" error. */
export function lookupBelow(files: readonly string[], name: string, from: number, target: string): number {
  const wanted = resolve(name);
  const index = files.findIndex((f, i) => i >= from && f === wanted);
  if (index !== -1) return index;
  throw invalid(from > 0
    ? `could not find image '${name}' beneath '${files[from - 1]}' in chain for '${target}'`
    : `could not find image '${name}' in chain for '${target}'`);
}

/**
 * The plan for committing disk `target` (named `path` by the caller) whose running chain
 * is `chain` (top first).
 */
export function planCommit(
  chain: readonly ChainLayer[], target: string, path: string, base: string | null, top: string | null, flags: number,
): CommitPlan {
  const files = chain.map((l) => l.filename);
  const topIndex = top === null || top === target ? 0 : lookupBelow(files, top, 0, target);
  const topPath = files[topIndex]!;
  if (topIndex === 0 && !(flags & F.ACTIVE)) throw invalid(`commit of '${target}' active layer requires active flag`);
  if (topIndex !== 0 && flags & F.ACTIVE) throw invalid(`active commit requested but '${topPath}' is not active`);
  if (topIndex + 1 >= files.length) throw invalid(`top '${topPath}' in chain for '${path}' has no backing file`);
  const baseIndex = base === null
    ? (flags & F.SHALLOW ? topIndex + 1 : files.length - 1)
    : lookupBelow(files, base, topIndex + 1, target);
  if (flags & F.SHALLOW && baseIndex !== topIndex + 1) {
    throw invalid(`base '${base ?? files[baseIndex]}' is not immediately below '${topPath}' in chain for '${path}'`);
  }
  const basePath = files[baseIndex]!;
  const merges: PlannedMerge[] = [];
  for (let i = baseIndex - 1; i >= topIndex; i--) {
    merges.push({ overlay: files[i]!, base: basePath, baseFormat: chain[baseIndex]!.format, above: i > 0 ? files[i - 1] : undefined });
  }
  return { top: topPath, base: basePath, active: topIndex === 0, above: files.slice(0, topIndex), dropped: files.slice(topIndex, baseIndex), merges };
}
