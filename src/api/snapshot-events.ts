/**
 * Snapshot events: snapvirt's own, beyond libvirt (libvirt raises no event when a snapshot
 * is created, reverted to or deleted; its users poll). A Connection emits them as a Node
 * EventEmitter does: `conn.on('snapshot', listener)`, or `for await (const [e] of
 * events.on(conn, 'snapshot'))`.
 */
import type { Domain } from './domain.js';

/** What happened to the snapshot. */
export type SnapshotEventKind = 'created' | 'reverted' | 'deleted';

/** The event numbers snapvirt's RPC program carries (snapvirt_domain_snapshot_event_msg.event), by kind. */
export const SNAPSHOT_EVENT_NUMBERS: Readonly<Record<SnapshotEventKind, number>> = { created: 0, reverted: 1, deleted: 2 };

/** One snapshot event: the kind, the domain, and the snapshot's name. */
export interface SnapshotEvent {
  kind: SnapshotEventKind;
  domain: Domain;
  snapshot: string;
}

/** A listener of a Connection's 'snapshot' events. */
export type SnapshotEventListener = (event: SnapshotEvent) => void;

/** The events a Connection emits, typed for EventEmitter (newListener and removeListener are Node's own). */
export type ConnectionEvents = {
  snapshot: [event: SnapshotEvent];
  /** A failure to register for snapshot events with a daemon (a libvirtd: VIR_ERR_NO_SUPPORT). */
  error: [err: Error];
  newListener: [eventName: string | symbol, listener: (...args: never[]) => void];
  removeListener: [eventName: string | symbol, listener: (...args: never[]) => void];
};
