/**
 * Block-job events (VIR_DOMAIN_EVENT_ID_BLOCK_JOB = 8, BLOCK_JOB_2 = 16) to the clients
 * open on a qemu:/// URI that registered for them (and for the domain, if they named one),
 * as DOMAIN_EVENT_CALLBACK_BLOCK_JOB (the disk's image path) and DOMAIN_EVENT_BLOCK_JOB_2
 * (the disk's target). Two sources, one event each: the URI's domain watch
 * (domain-watches.ts), which hears on each QEMU's events.sock the jobs of every process
 * (the CLI's and the library's merges too), and this process's own report of the merges
 * its live deletes run (drivers/block-job-events.ts), sent only when no watch heard that
 * change (a QEMU of an older snapvirt, without events.sock, or one not watched yet).
 */
import { onBlockJobEvent, type BlockJobEvent } from '../drivers/block-job-events.js';
import { remoteProcedures } from '../rpc/generated/remote-protocol.js';
import { encodeFrame, encodePayload, MessageStatus, MessageType } from '../rpc/message.js';
import { REMOTE } from '../rpc/programs.js';
import type { ClientSession } from './client-session.js';
import type { DomainWatches } from './domain-watches.js';
import { wireDomain } from './wire-objects.js';

const EVENT_ID_BLOCK_JOB = 8;
const EVENT_ID_BLOCK_JOB_2 = 16;

/** Relays block-job events to the clients `sessions` yields (`stop` ends the relay of this process's own reports). */
export class BlockJobEventRelay {
  readonly stop: () => void;

  constructor(private readonly sessions: () => Iterable<ClientSession>, watches: () => DomainWatches, private readonly log: (line: string) => void) {
    this.stop = onBlockJobEvent((event) => {
      if (!watches().heard(event)) this.#sendAll(undefined, event);
    });
  }

  /** A change a domain watch heard on `uri`'s domains: to that URI's clients. */
  heardOn(uri: string, event: BlockJobEvent): void {
    this.#sendAll(uri, event);
  }

  #sendAll(uri: string | undefined, event: BlockJobEvent): void {
    for (const session of this.sessions()) {
      sendTo(session, uri, event).catch((err: unknown) => this.log(`client ${session.id}: block-job event not sent: ${String(err)}`));
    }
  }
}

async function sendTo(session: ClientSession, onlyUri: string | undefined, event: BlockJobEvent): Promise<void> {
  const uri = session.conn?.getURI();
  if (uri === undefined || !uri.startsWith('qemu') || (onlyUri !== undefined && uri !== onlyUri)) return;
  const regs = [...session.registrations.values()].filter((r) =>
    (r.eventID === EVENT_ID_BLOCK_JOB || r.eventID === EVENT_ID_BLOCK_JOB_2) && (r.domainUuid === null || r.domainUuid === event.domainUuid));
  if (regs.length === 0) return;
  const dom = wireDomain(await session.connection().domainLookupByUUIDString(event.domainUuid));
  const header = { prog: REMOTE.prog, vers: REMOTE.version, type: MessageType.VIR_NET_MESSAGE, serial: 0, status: MessageStatus.VIR_NET_OK };
  for (const reg of regs) {
    if (reg.eventID === EVENT_ID_BLOCK_JOB) {
      const spec = remoteProcedures.REMOTE_PROC_DOMAIN_EVENT_CALLBACK_BLOCK_JOB;
      const msg = { dom, path: event.path, type: event.type, status: event.status };
      session.send(encodeFrame({ ...header, proc: spec.num }, encodePayload(spec.msg, { callbackID: reg.callbackID, msg })));
    } else {
      const spec = remoteProcedures.REMOTE_PROC_DOMAIN_EVENT_BLOCK_JOB_2;
      const msg = { callbackID: reg.callbackID, dom, dst: event.target, type: event.type, status: event.status };
      session.send(encodeFrame({ ...header, proc: spec.num }, encodePayload(spec.msg, msg)));
    }
  }
}
