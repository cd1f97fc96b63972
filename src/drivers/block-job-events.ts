/**
 * Block-job events of this process (libvirt's VIR_DOMAIN_EVENT_ID_BLOCK_JOB and
 * BLOCK_JOB_2): the QEMU driver reports each block commit and pull it finishes, and
 * snapvirtd relays them to its clients. Process-wide, as the jobs they describe are
 * (a merge may finish in recovery, outside any one call).
 */
import { EventEmitter } from 'node:events';

/** virDomainBlockJobType values snapvirt runs. */
export const BlockJobType = { PULL: 1, COMMIT: 3, ACTIVE_COMMIT: 4 } as const;
/** virConnectDomainEventBlockJobStatus. */
export const BlockJobStatus = { COMPLETED: 0, FAILED: 1, CANCELED: 2, READY: 3 } as const;

/** One block job's change. */
export interface BlockJobEvent {
  domainUuid: string;
  /** The disk's target (BLOCK_JOB_2's `dst`). */
  target: string;
  /** The disk's image path when the job started (BLOCK_JOB's `path`). */
  path: string;
  type: number;
  status: number;
}

const emitter = new EventEmitter();
emitter.setMaxListeners(0);

/** Reports a block job's change to this process's listeners. */
export function emitBlockJobEvent(event: BlockJobEvent): void {
  emitter.emit('block-job', event);
}

/** Listens to this process's block-job events; returns the function that stops listening. */
export function onBlockJobEvent(listener: (event: BlockJobEvent) => void): () => void {
  emitter.on('block-job', listener);
  return () => emitter.off('block-job', listener);
}
