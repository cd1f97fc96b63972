/**
 * The images a block job of snapvirt's works on, read from the journal of the operation
 * that runs it (whichever process: its merges and pulls are journaled before their job
 * starts, and stay there until they are done). snapvirtd's domain watch names a job's
 * disk image with it (block-job events), which asking QEMU cannot do reliably: by the time
 * an onlooker's query-block is answered, the process running an active commit may have
 * pivoted the disk off the image already.
 */
import type { Store } from '../../../store/index.js';
import { openEntries, openMemberEntries, resourcesOf } from '../../../txn/index.js';
import { LIVE_MERGE } from '../journal/active-resources.js';
import { LIVE_PULL } from '../journal/block-job-resources.js';
import { LIVE_UNDOABLE_MERGE } from '../journal/undoable-merge-resources.js';
import type { JobLayers } from '../qmp/event-monitor.js';


/**
 * The layers of the one journaled `kind` job on disk `target` of the QEMU in `runtimeDir`
 * (domain `uuid`); undefined when none, or more than one (a commit of several layers: which
 * one runs now is QEMU's to say).
 */
export function journaledJobLayers(store: Store, uuid: string, runtimeDir: string, target: string, kind: 'commit' | 'stream'): JobLayers | undefined {
  const entries = [...openEntries(store, uuid), ...openMemberEntries(store, uuid)];
  const kinds = kind === 'commit' ? [LIVE_MERGE, LIVE_UNDOABLE_MERGE] : [LIVE_PULL];
  const found = entries.flatMap(resourcesOf).filter((r) => kinds.includes(r.kind) && r.runtimeDir === runtimeDir && r.target === target);
  if (found.length !== 1) return undefined;
  const r = found[0]!;
  const top = typeof r.overlay === 'string' ? r.overlay : typeof r.top === 'string' ? r.top : undefined;
  if (top === undefined) return undefined;
  // An undoable merge names the layer above it (null: the overlay was the disk's top).
  const above = Array.isArray(r.children) && typeof r.children[0] === 'string' ? r.children[0] : typeof r.above === 'string' ? r.above : top;
  return { top, above };
}
