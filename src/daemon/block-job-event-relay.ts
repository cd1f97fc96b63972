/**
 * Block-job events (VIR_DOMAIN_EVENT_ID_BLOCK_JOB = 8, BLOCK_JOB_2 = 16) for the
 * block-commits this daemon's live deletes run: each finished merge reaches every client
 * open on a qemu:/// URI that registered for the event (and the domain, if it named one),
 * as DOMAIN_EVENT_CALLBACK_BLOCK_JOB (the disk's image path) and DOMAIN_EVENT_BLOCK_JOB_2
 * (the disk's target). Merges run by another process (the CLI, the library) are not seen.
 */
import { onBlockJobEvent, type BlockJobEvent } from '../drivers/block-job-events.js';
import { remoteProcedures } from '../rpc/generated/remote-protocol.js';
import { encodeFrame, encodePayload, MessageStatus, MessageType } from '../rpc/message.js';
import { REMOTE } from '../rpc/programs.js';
import type { ClientSession } from './client-session.js';
import { wireDomain } from './wire-objects.js';

const EVENT_ID_BLOCK_JOB = 8;
const EVENT_ID_BLOCK_JOB_2 = 16;

/** Starts relaying this process's block-job events to the clients `sessions` yields; returns the stop function. */
export function relayBlockJobEvents(sessions: () => Iterable<ClientSession>, log: (line: string) => void): () => void {
  return onBlockJobEvent((event) => {
    for (const session of sessions()) {
      sendTo(session, event).catch((err: unknown) => log(`client ${session.id}: block-job event not sent: ${String(err)}`));
    }
  });
}

async function sendTo(session: ClientSession, event: BlockJobEvent): Promise<void> {
  const uri = session.conn?.getURI();
  if (uri === undefined || !uri.startsWith('qemu')) return;
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
