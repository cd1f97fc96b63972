/**
 * Domain lifecycle events for the changes made through the daemon (define, undefine,
 * start, destroy, suspend, resume, rename): clients that registered a callback
 * (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, as libvirt's client library does when the
 * daemon offers REMOTE_EVENT_CALLBACK) get DOMAIN_EVENT_CALLBACK_LIFECYCLE messages. A
 * change reaches the clients event-audience.ts names. Changes the daemon does not make
 * (another process, the guest, a snapshot revert) are found by outside-changes.ts, whose
 * events go to every client on the URI.
 */
import type { Domain } from '../api/domain.js';
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import { remoteProcedures } from '../rpc/generated/remote-protocol.js';
import { encodeFrame, encodePayload, MessageStatus, MessageType } from '../rpc/message.js';
import { REMOTE } from '../rpc/programs.js';
import type { ClientSession } from './client-session.js';
import type { RemoteHandlers } from './handler-types.js';
import { eventAudience } from './event-audience.js';
import { wireDomain } from './wire-objects.js';
import { OutsideChanges } from './outside-changes.js';
import type { LifecycleEvent, SeenDomain } from '../api/lifecycle-transitions.js';
import type { OwnChangeKind } from '../api/domain-state-book.js';
import { uuidBytes, uuidString } from '../rpc/wire-uuid.js';
import type { RemoteNonnullDomain } from '../rpc/generated/remote-protocol.js';

/** virDomainEventType and its detail, as libvirt numbers them, for each change the daemon announces itself. */
const LIFECYCLE: Readonly<Record<OwnChangeKind, readonly [event: number, detail: number]>> = {
  DEFINED_ADDED: [0, 0],
  DEFINED_UPDATED: [0, 1],
  DEFINED_RENAMED: [0, 2],
  UNDEFINED: [1, 0],
  UNDEFINED_RENAMED: [1, 1],
  STARTED: [2, 0],
  SUSPENDED: [3, 0],
  RESUMED: [4, 0],
  STOPPED_DESTROYED: [5, 1],
};
/** The changes the handlers announce (the book of outside-changes.ts records the same kinds). */
export type LifecycleKind = OwnChangeKind;

/** VIR_DOMAIN_EVENT_ID_LIFECYCLE, and one past libvirt 9.0's last event ID (VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE = 26). */
const EVENT_ID_LIFECYCLE = 0;
const EVENT_ID_LAST = 27;

export class DomainLifecycleEvents {
  readonly #sessions: () => Iterable<ClientSession>;
  readonly #outside: OutsideChanges;
  #nextCallbackID = 1;

  constructor(sessions: () => Iterable<ClientSession>, pollIntervalMs?: number) {
    this.#sessions = sessions;
    this.#outside = new OutsideChanges(sessions, (uri, uuid, seen, events) => this.#announceOutside(uri, uuid, seen, events), pollIntervalMs);
  }

  /** Looks for outside changes on `uri` now (a domain watch heard domain `uuid`'s run state change). */
  lookSoon(uri: string, uuid: string): void { this.#outside.lookSoon(uri, uuid); }

  /** Stops looking for outside changes (the daemon is stopping). */
  stop(): void { this.#outside.stop(); }

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
    const uri = origin.conn?.getURI();
    if (uri !== undefined && !uri.startsWith('test:') && !this.#outside.noteOwnChange(uri, dom, kind)) return;
    const [event, detail] = LIFECYCLE[kind];
    this.#send(eventAudience(origin, this.#sessions()), wireDomain(dom), [[event, detail, dom.getName()]]);
  }

  /** What outside-changes.ts found on `uri`: to every client open on it. */
  #announceOutside(uri: string, uuid: string, seen: SeenDomain, events: readonly LifecycleEvent[]): void {
    const audience = [...this.#sessions()].filter((s) => s.conn?.getURI() === uri);
    this.#send(audience, { name: seen.name, uuid: uuidBytes(uuid), id: seen.id }, events);
  }

  #send(audience: Iterable<ClientSession>, dom: RemoteNonnullDomain, events: readonly LifecycleEvent[]): void {
    const uuid = uuidString(dom.uuid);
    const spec = remoteProcedures.REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE;
    for (const session of audience) {
      for (const reg of session.registrations.values()) {
        if (reg.eventID !== EVENT_ID_LIFECYCLE || (reg.domainUuid !== null && reg.domainUuid !== uuid)) continue;
        for (const [event, detail, name] of events) {
          const payload = encodePayload(spec.msg, { callbackID: reg.callbackID, msg: { dom: { ...dom, name }, event, detail } });
          session.send(encodeFrame({ prog: REMOTE.prog, vers: REMOTE.version, proc: spec.num, type: MessageType.VIR_NET_MESSAGE, serial: 0, status: MessageStatus.VIR_NET_OK }, payload));
        }
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
        await this.#outside.watch();
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
