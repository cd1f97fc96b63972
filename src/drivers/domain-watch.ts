/**
 * A daemon's resident watch of the running domains of one state (snapvirtd holds one per
 * URI): what the driver hears from its domains without asking, shared by every connection
 * to that state. Only the qemu driver has one (drivers/qemu/domain/domain-watch.ts: a
 * monitor held on each QEMU's events.sock). The library and the CLI never open one, so
 * they behave exactly as without it.
 */
import type { BlockJobEvent } from './block-job-events.js';

export interface DomainWatch {
  /** Attaches to every running domain not watched yet (before listening for their jobs, and again now and then). */
  attachRunning(): Promise<void>;
  /** Calls `listener` for every block-job change heard, whichever process runs the job; returns the function that stops it. */
  onBlockJob(listener: (event: BlockJobEvent) => void): () => void;
  /** Calls `listener` when a watched domain's run state may have changed (QEMU said so); returns the function that stops it. */
  onStateChange(listener: (uuid: string) => void): () => void;
  /** Whether the watch heard (and reported) the change `event` describes; each heard change answers true once. */
  takeHeard(event: BlockJobEvent): boolean;
  /** Ends every resident connection. */
  close(): void;
}
