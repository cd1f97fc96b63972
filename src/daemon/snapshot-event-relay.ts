/**
 * snapvirt's snapshot events through the daemon: each client's Connection raises the
 * events of the calls made through it (the public API does, for the local drivers the
 * daemon serves); the relay sends each one, as a SNAPVIRT_PROC_DOMAIN_SNAPSHOT_EVENT
 * message, to every client of the event's audience (event-audience.ts) that registered
 * with SNAPVIRT_PROC_CONNECT_SNAPSHOT_EVENT_REGISTER, the client that made the change
 * included. A client's own change reaches it before the reply of its call. Changes made
 * by another process (the CLI, the library) are not seen.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import { SNAPSHOT_EVENT_NUMBERS, type SnapshotEvent } from '../api/snapshot-events.js';
import { snapvirtProcedures } from '../rpc/generated/snapvirt-protocol.js';
import { encodeFrame, encodePayload, MessageStatus, MessageType } from '../rpc/message.js';
import { SNAPVIRT } from '../rpc/programs.js';
import type { ClientSession } from './client-session.js';
import { eventAudience } from './event-audience.js';
import type { Handler, RemoteHandlers, SnapvirtHandlers } from './handler-types.js';
import type { remoteProcedures } from '../rpc/generated/remote-protocol.js';
import { wireDomain } from './wire-objects.js';

type OpenHandler = Handler<typeof remoteProcedures.REMOTE_PROC_CONNECT_OPEN>;

export class SnapshotEventRelay {
  readonly #sessions: () => Iterable<ClientSession>;

  constructor(sessions: () => Iterable<ClientSession>) {
    this.#sessions = sessions;
  }

  /** CONNECT_OPEN as `open` does it, then the relay listens to the connection it opened. */
  wrapOpen(open: OpenHandler): RemoteHandlers {
    return {
      REMOTE_PROC_CONNECT_OPEN: async (session, args) => {
        const ret = await open(session, args);
        session.connection().on('snapshot', (e) => this.#relay(session, e));
        return ret;
      },
    };
  }

  #relay(origin: ClientSession, e: SnapshotEvent): void {
    const spec = snapvirtProcedures.SNAPVIRT_PROC_DOMAIN_SNAPSHOT_EVENT;
    const payload = encodePayload(spec.msg, { snap: { name: e.snapshot, dom: wireDomain(e.domain) }, event: SNAPSHOT_EVENT_NUMBERS[e.kind] });
    const frame = encodeFrame({ prog: SNAPVIRT.prog, vers: SNAPVIRT.version, proc: spec.num, type: MessageType.VIR_NET_MESSAGE, serial: 0, status: MessageStatus.VIR_NET_OK }, payload);
    for (const session of eventAudience(origin, this.#sessions())) {
      if (session.snapshotEvents) session.send(frame);
    }
  }

  /** The register and deregister procedures: one registration per client. */
  handlers(): SnapvirtHandlers {
    return {
      SNAPVIRT_PROC_CONNECT_SNAPSHOT_EVENT_REGISTER: async (s) => {
        s.connection();
        s.snapshotEvents = true;
        return null;
      },
      SNAPVIRT_PROC_CONNECT_SNAPSHOT_EVENT_DEREGISTER: async (s) => {
        s.connection();
        if (!s.snapshotEvents) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.NONE, 'snapshot events are not registered on this connection');
        s.snapshotEvents = false;
        return null;
      },
    };
  }
}
