/**
 * Feeds a Connection's 'snapshot' events. A driver whose operations all run in this
 * process (qemu:///, test:///) has the public API raise each event after its own call
 * succeeded; a driver that hears events from elsewhere (the remote driver, from
 * snapvirtd: every client's operations) is asked to watch while the connection has a
 * 'snapshot' listener, and its events are raised as they arrive.
 *
 * A watch that fails (a libvirtd, which has no snapvirt program) goes to the connection's
 * 'error' listeners, or, when it has none, becomes a process warning: a connection must
 * not crash a program for lacking an extra.
 */
import type { DomainRef, HypervisorDriver } from '../drivers/driver.js';
import type { SnapshotEventKind } from './snapshot-events.js';

export interface SnapshotEventTarget {
  listenerCount(eventName: 'snapshot' | 'error'): number;
  /** Raises one event to the connection's listeners. */
  raiseSnapshotEvent(dom: DomainRef, snapshot: string, kind: SnapshotEventKind): void;
  raiseError(err: Error): void;
}

export class SnapshotEventFeed {
  readonly #driver: HypervisorDriver;
  readonly #target: SnapshotEventTarget;
  /** Watch and unwatch calls, one after the other, so a quick on/off/on ends as it should. */
  #queue: Promise<void> = Promise.resolve();
  #watching = false;
  #closed = false;

  constructor(driver: HypervisorDriver, target: SnapshotEventTarget) {
    this.#driver = driver;
    this.#target = target;
  }

  /** Whether the public API raises the events of its own calls (no driver watch). */
  get raisedHere(): boolean { return this.#driver.watchSnapshotEvents === undefined; }

  /** Whether an API call should raise its event: raised here, and someone listens. */
  get wanted(): boolean { return this.raisedHere && this.#target.listenerCount('snapshot') > 0; }

  /** Called after the listeners changed (`count`: 'snapshot' listeners now). */
  listenersChanged(count: number): void {
    if (this.raisedHere || this.#closed) return;
    if (count > 0 && !this.#watching) {
      this.#watching = true;
      this.#enqueue(async () => {
        await this.#driver.watchSnapshotEvents?.((dom, snapshot, kind) => this.#target.raiseSnapshotEvent(dom, snapshot, kind));
      }, () => { this.#watching = false; });
    } else if (count === 0 && this.#watching) {
      this.#watching = false;
      this.#enqueue(async () => { await this.#driver.unwatchSnapshotEvents?.(); }, () => undefined);
    }
  }

  /** The connection is closing: its driver's close ends any watch, so listeners removed now change nothing. */
  close(): void { this.#closed = true; }

  /** Resolves once every watch and unwatch asked for so far reached the driver (and its daemon). */
  settled(): Promise<void> { return this.#queue; }

  #enqueue(step: () => Promise<void>, onFailure: () => void): void {
    this.#queue = this.#queue.then(step).catch((err: unknown) => {
      onFailure();
      this.#target.raiseError(err instanceof Error ? err : new TypeError(String(err)));
    });
  }
}
