/**
 * Domain lifecycle events for the changes made through the daemon (define, undefine,
 * start, destroy, suspend, resume, rename): clients that registered a callback
 * (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, as libvirt's client library does when the
 * daemon offers REMOTE_EVENT_CALLBACK) get DOMAIN_EVENT_CALLBACK_LIFECYCLE messages. A
 * change reaches the clients event-audience.ts names. Changes made by another process
 * (the CLI, the library) and snapshot reverts raise no event: the daemon does not see them.
 */
import type { Domain } from '../api/domain.js';
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import { remoteProcedures } from '../rpc/generated/remote-protocol.js';
import { encodeFrame, encodePayload, MessageStatus, MessageType } from '../rpc/message.js';
import { REMOTE } from '../rpc/programs.js';
import type { ClientSession } from './client-session.js';
import type { RemoteHandlers } from './handler-types.js';
import { uuidString } from '../rpc/wire-uuid.js';
import { eventAudience } from './event-audience.js';
import { wireDomain } from './wire-objects.js';

/** virDomainEventType and its detail, as libvirt numbers them. */
const LIFECYCLE = {
  DEFINED_ADDED: [0, 0],
  DEFINED_UPDATED: [0, 1],
  DEFINED_RENAMED: [0, 2],
  UNDEFINED: [1, 0],
  UNDEFINED_RENAMED: [1, 1],
  STARTED: [2, 0],
  SUSPENDED: [3, 0],
  RESUMED: [4, 0],
  STOPPED_DESTROYED: [5, 1],
} as const;
export type LifecycleKind = keyof typeof LIFECYCLE;

/** VIR_DOMAIN_EVENT_ID_LIFECYCLE, and one past libvirt 9.0's last event ID (VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE = 26). */
const EVENT_ID_LIFECYCLE = 0;
const EVENT_ID_LAST = 27;

export class DomainLifecycleEvents {
  readonly #sessions: () => Iterable<ClientSession>;
  #nextCallbackID = 1;

  constructor(sessions: () => Iterable<ClientSession>) {
    this.#sessions = sessions;
  }

  /** Defines a domain from `xml` and raises DEFINED, ADDED or UPDATED as the domain was new or not. */
  async define(session: ClientSession, xml: string, flags: number): Promise<Domain> {
    const conn = session.connection();
    const before = new Set((await conn.listAllDomains(0)).map((d) => d.getUUIDString()));
    const dom = await conn.domainDefineXML(xml, flags);
    this.emit(session, dom, before.has(dom.getUUIDString()) ? 'DEFINED_UPDATED' : 'DEFINED_ADDED');
    return dom;
  }

  /** Sends `kind` for `dom` to every registration that should hear a change `origin` made. */
  emit(origin: ClientSession, dom: Domain, kind: LifecycleKind): void {
    const [event, detail] = LIFECYCLE[kind];
    for (const session of eventAudience(origin, this.#sessions())) {
      for (const reg of session.registrations.values()) {
        if (reg.eventID !== EVENT_ID_LIFECYCLE || (reg.domainUuid !== null && reg.domainUuid !== dom.getUUIDString())) continue;
        const spec = remoteProcedures.REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE;
        const payload = encodePayload(spec.msg, { callbackID: reg.callbackID, msg: { dom: wireDomain(dom), event, detail } });
        session.send(encodeFrame({ prog: REMOTE.prog, vers: REMOTE.version, proc: spec.num, type: MessageType.VIR_NET_MESSAGE, serial: 0, status: MessageStatus.VIR_NET_OK }, payload));
      }
    }
  }

  /** The register and deregister procedures. */
  handlers(): RemoteHandlers {
    return {
      REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: async (s, { eventID, dom }) => {
        s.connection();
        if (eventID < 0 || eventID >= EVENT_ID_LAST) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.NONE, `unsupported event ID ${eventID}`);
        const callbackID = this.#nextCallbackID++;
        s.registrations.set(callbackID, { callbackID, eventID, domainUuid: dom ? uuidString(dom.uuid) : null });
        return { callbackID };
      },
      REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: async (s, { callbackID }) => {
        s.connection();
        if (!s.registrations.delete(callbackID)) {
          throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.NONE, `callback ID ${callbackID} not registered`);
        }
        return null;
      },
    };
  }
}
