/**
 * The remote driver's side of snapvirt's own RPC program (snapvirt_protocol.x): its calls,
 * and its snapshot events. A daemon that is not snapvirtd (a libvirtd) answers any call
 * of the program with VIR_ERR_RPC "Cannot find program …" and keeps the connection; that
 * becomes VIR_ERR_NO_SUPPORT naming the snapvirt function and saying why, and is
 * remembered, so later calls are refused without asking again.
 */
import { isVirError, virError, VirErrorCode, VirErrorDomain, type VirError } from '../../api/errors.js';
import type { SnapshotEventKind } from '../../api/snapshot-events.js';
import { SNAPSHOT_EVENT_NUMBERS } from '../../api/snapshot-events.js';
import { snapvirtProcedures as S } from '../../rpc/generated/snapvirt-protocol.js';
import { decodePayload, type RpcMessage } from '../../rpc/message.js';
import type { ProcedureSpec } from '../../rpc/procedure-spec.js';
import { SNAPVIRT } from '../../rpc/programs.js';
import type { SnapshotEventSink } from '../driver.js';
import type { RpcClient } from './rpc-client.js';
import { domainRef } from './wire-refs.js';

/** VIR_ERR_RPC: what libvirtd's dispatch answers for a program it does not have. */
const VIR_ERR_RPC = 39;

const KIND_OF_NUMBER = new Map(Object.entries(SNAPSHOT_EVENT_NUMBERS).map(([kind, n]) => [n, kind as SnapshotEventKind]));

export class SnapvirtProgram {
  readonly #client: RpcClient;
  /** Set once the daemon said it has no such program. */
  #absent: VirError | undefined;
  #sink: SnapshotEventSink | undefined;

  constructor(client: RpcClient) {
    this.#client = client;
    client.onEvent((m) => this.#deliver(m));
  }

  /** Whether the daemon said it has no snapvirt program (it is not snapvirtd). */
  get absent(): boolean { return this.#absent !== undefined; }

  /** Calls `spec`; `functionName` is the snapvirt function a NO_SUPPORT refusal names. */
  async call<A, R>(spec: ProcedureSpec<A, R, unknown>, args: A, functionName: string): Promise<R> {
    if (this.#absent) throw this.#refusal(functionName);
    try {
      return await this.#client.call(SNAPVIRT, spec, args);
    } catch (err) {
      if (isVirError(err) && err.code === VIR_ERR_RPC && /^Cannot find program /.test(err.message)) {
        this.#absent = err;
        throw this.#refusal(functionName);
      }
      throw err;
    }
  }

  /** Registers for the daemon's snapshot events; while registered, the connection keeps Node running. */
  async watch(sink: SnapshotEventSink): Promise<void> {
    await this.call(S.SNAPVIRT_PROC_CONNECT_SNAPSHOT_EVENT_REGISTER, null, 'snapshot events');
    this.#sink = sink;
    this.#client.hold();
  }

  async unwatch(): Promise<void> {
    if (!this.#sink) return;
    this.#sink = undefined;
    this.#client.release();
    if (!this.#client.closed) await this.call(S.SNAPVIRT_PROC_CONNECT_SNAPSHOT_EVENT_DEREGISTER, null, 'snapshot events');
  }

  #refusal(functionName: string): VirError {
    return virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.REMOTE,
      `${functionName} (the daemon is not snapvirtd: it answered snapvirt's own RPC program with '${this.#absent?.message ?? ''}')`);
  }

  #deliver(m: RpcMessage): void {
    const spec = S.SNAPVIRT_PROC_DOMAIN_SNAPSHOT_EVENT;
    if (m.header.prog !== SNAPVIRT.prog || m.header.proc !== spec.num || !this.#sink) return;
    const { snap, event } = decodePayload(spec.msg, m.payload);
    const kind = KIND_OF_NUMBER.get(event);
    // An event number a newer daemon added: not one this client can name.
    if (kind === undefined) return;
    try {
      this.#sink(domainRef(snap.dom), snap.name, kind);
    } catch (err) {
      // As remote-events.ts: a throwing listener surfaces as an uncaught error, never breaks the reading.
      queueMicrotask(() => { throw err; });
    }
  }
}
