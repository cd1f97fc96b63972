/**
 * The QEMU driver's disk chains (the `chain` of Domain.getDefinition's disks). A running
 * domain's come from query-block: what its QEMU has open now. Otherwise, or when QEMU
 * cannot be asked or names a layer by a json: pseudo-filename, they come from the image
 * headers through walkChain, which reads only images whose format is known: a raw disk is
 * one layer whatever its content, and a backing file whose format is not recorded ends
 * the chain unread.
 */
import type { DiskChainLayer } from '../../../api/disk-chain.js';
import type { DiskChainAnswer, DiskChainQuery, DomainRef } from '../../driver.js';
import type { TxnContext } from '../../../txn/index.js';
import { walkChain } from './chain-inspect.js';
import { readActiveChain, type ActiveDiskChain } from '../qmp/active-chain.js';
import { liveRuntime } from '../domain/active-domains.js';
import { withMonitor } from '../qmp/domain-monitor.js';

/** Each disk's chain, in the order of `disks`; `live` asks the running QEMU first. */
export async function qemuDiskChains(ctx: TxnContext, dom: DomainRef, disks: readonly DiskChainQuery[], live: boolean): Promise<DiskChainAnswer[]> {
  let active: ActiveDiskChain[] | undefined;
  let unasked: string | undefined;
  const rt = live ? await liveRuntime(ctx, dom.uuid) : null;
  if (rt) {
    try {
      active = await withMonitor(rt.runtimeDir, readActiveChain);
    } catch (err) {
      unasked = `the running QEMU could not be asked (${err instanceof Error ? err.message : String(err)}): this is the chain on disk`;
    }
  }
  const out: DiskChainAnswer[] = [];
  for (const disk of disks) {
    const open = active?.find((a) => a.target === disk.target);
    const fromQemu: DiskChainAnswer | undefined = open && !open.chain.some((l) => l.filename.startsWith('json:'))
      ? { layers: open.chain.map((l) => ({ path: l.filename, format: l.format })), origin: 'qemu' }
      : undefined;
    const answer = fromQemu ?? await chainOnDisk(disk);
    if (!fromQemu && unasked && answer.note === undefined) answer.note = unasked;
    out.push(answer);
  }
  return out;
}

/** The chain the headers on disk give, read only as far as formats are known. */
async function chainOnDisk(disk: DiskChainQuery): Promise<DiskChainAnswer> {
  if (disk.type !== 'file' && disk.type !== 'block') return { layers: [], origin: 'images', note: `a ${disk.type} disk's chain is not read` };
  if (disk.source === undefined) return { layers: [], origin: 'images' };
  // No <driver type> is raw, as snapvirt starts it: never a format guessed from content.
  const walked = await walkChain({ path: disk.source, format: disk.format ?? 'raw' });
  const layers: DiskChainLayer[] = walked.layers.map((l) => ({ path: l.path, format: l.format ?? null }));
  const answer: DiskChainAnswer = { layers, origin: 'images' };
  const last = layers.length - 1;
  if (walked.loop) {
    answer.note = `backing store for ${walked.loop.path} (${walked.loop.canonical}) is self-referential: the chain is listed up to the loop`;
  } else if (last > 0 && layers[last]!.format === null) {
    answer.note = `format of backing image '${layers[last]!.path}' of image '${layers[last - 1]!.path}' was not specified in the image metadata: `
      + 'snapvirt never probes a format, so the chain ends there unread';
  }
  return answer;
}
