/**
 * One client of the daemon: its socket's kind (read-write or read-only), the Connection its
 * CONNECT_OPEN opened, its event registrations, and a way to send it frames. Calls of one
 * client run concurrently, as libvirtd's worker pool runs them.
 */
import type { Connection } from '../api/connection.js';
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';

/** VIR_FROM_RPC: the error domain of libvirtd's dispatch code. */
export const VIR_FROM_RPC = 7 as VirErrorDomain;

/** A registered domain event callback (REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY). */
export interface EventRegistration {
  callbackID: number;
  eventID: number;
  /** Only this domain's events (its UUID), or every domain's. */
  domainUuid: string | null;
}

export class ClientSession {
  conn: Connection | null = null;
  readonly registrations = new Map<number, EventRegistration>();
  /** Whether the client asked for snapvirt's snapshot events (SNAPVIRT_PROC_CONNECT_SNAPSHOT_EVENT_REGISTER). */
  snapshotEvents = false;
  #opening = false;

  constructor(
    readonly id: number,
    readonly readOnlySocket: boolean,
    readonly send: (frame: Buffer) => void,
  ) {}

  /** The open connection, or libvirtd's "connection not open" error. */
  connection(): Connection {
    if (!this.conn) throw virError(VirErrorCode.INTERNAL_ERROR, VIR_FROM_RPC, 'connection not open');
    return this.conn;
  }

  /** Claims the one CONNECT_OPEN a client may make; libvirtd's error for a second. */
  beginOpen(): void {
    if (this.conn || this.#opening) throw virError(VirErrorCode.INTERNAL_ERROR, VIR_FROM_RPC, 'connection already open');
    this.#opening = true;
  }

  endOpen(conn: Connection | null): void {
    this.#opening = false;
    this.conn = conn;
  }

  /** Closes the connection (CONNECT_CLOSE, or the client went away). */
  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    this.registrations.clear();
    this.snapshotEvents = false;
    await conn?.close();
  }
}
