/**
 * Domain lifecycle events over a remote connection, as libvirt's client registers them
 * with a daemon that offers REMOTE_EVENT_CALLBACK: one CALLBACK_REGISTER_ANY per
 * registration (the daemon filters by domain and answers a callback ID), and each
 * DOMAIN_EVENT_CALLBACK_LIFECYCLE message delivered to the listener of its ID. While any
 * registration lasts, the connection keeps Node running, so a program waiting for events
 * does not exit under it.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import { remoteProcedures as P } from '../../rpc/generated/remote-protocol.js';
import { decodePayload, type RpcMessage } from '../../rpc/message.js';
import { REMOTE } from '../../rpc/programs.js';
import type { DomainRef, LifecycleListener } from '../driver.js';
import type { RpcClient } from './rpc-client.js';
import { domainRef, wireDomain } from './wire-refs.js';

/** virDomainEventID VIR_DOMAIN_EVENT_ID_LIFECYCLE. */
const EVENT_ID_LIFECYCLE = 0;

export class RemoteEvents {
  readonly #client: RpcClient;
  readonly #offered: boolean;
  readonly #listeners = new Map<number, LifecycleListener>();

  /** `offered`: whether the daemon said it takes per-callback registrations. */
  constructor(client: RpcClient, offered: boolean) {
    this.#client = client;
    this.#offered = offered;
    client.onEvent((m) => this.#deliver(m));
  }

  async register(dom: DomainRef | null, listener: LifecycleListener): Promise<number> {
    if (!this.#offered) throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.REMOTE, 'virConnectDomainEventRegisterAny');
    const { callbackID } = await this.#client.call(REMOTE, P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
      { eventID: EVENT_ID_LIFECYCLE, dom: dom === null ? null : wireDomain(dom) });
    this.#listeners.set(callbackID, listener);
    this.#client.hold();
    return callbackID;
  }

  async deregister(callbackID: number): Promise<void> {
    if (!this.#listeners.has(callbackID)) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.REMOTE, `unable to find callback ID ${callbackID}`);
    await this.#client.call(REMOTE, P.REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, { callbackID });
    this.#listeners.delete(callbackID);
    this.#client.release();
  }

  #deliver(m: RpcMessage): void {
    const spec = P.REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE;
    if (m.header.prog !== REMOTE.prog || m.header.proc !== spec.num) return;
    const { callbackID, msg } = decodePayload(spec.msg, m.payload);
    const listener = this.#listeners.get(callbackID);
    if (!listener) return;
    try {
      listener(domainRef(msg.dom), msg.event, msg.detail);
    } catch (err) {
      // A throwing listener must not break the connection's reading: it surfaces as an uncaught error, as an EventEmitter listener's would.
      queueMicrotask(() => { throw err; });
    }
  }
}
