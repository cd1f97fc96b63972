/**
 * A listener that records what a libvirt client asks CONNECT_OPEN to open: it answers
 * AUTH_LIST with "none" and CONNECT_SUPPORTS_FEATURE with "no", then refuses the open with
 * an error, so the client (real virsh, or snapvirt's remote driver) stops there. The
 * names recorded are the URIs the clients send, to be compared.
 */
import { createServer, type Server } from 'node:net';
import { remote_error, remoteProcedures as P } from '../../src/rpc/generated/remote-protocol.js';
import { FrameSplitter } from '../../src/rpc/frame-splitter.js';
import { decodeFrame, decodePayload, encodeFrame, encodePayload, MessageStatus, MessageType } from '../../src/rpc/message.js';

export interface OpenRecorder {
  /** CONNECT_OPEN's names, in arrival order. */
  names: (string | null)[];
  /** CONNECT_OPEN's flags, in arrival order. */
  flags: number[];
  close(): Promise<void>;
}

/** The error the recorder answers CONNECT_OPEN with. */
export const RECORDER_REFUSAL = 'recorded, not opened';

export async function startOpenRecorder(path: string): Promise<OpenRecorder> {
  const names: (string | null)[] = [];
  const flags: number[] = [];
  const server: Server = createServer((socket) => {
    const splitter = new FrameSplitter();
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of splitter.push(chunk)) {
        const { header, payload } = decodeFrame(frame);
        if (header.type !== MessageType.VIR_NET_CALL) continue;
        const reply = (body: Buffer, status: number = MessageStatus.VIR_NET_OK): void => {
          socket.write(encodeFrame({ ...header, type: MessageType.VIR_NET_REPLY, status }, body));
        };
        if (header.proc === P.REMOTE_PROC_AUTH_LIST.num) reply(encodePayload(P.REMOTE_PROC_AUTH_LIST.ret, { types: [0] }));
        else if (header.proc === P.REMOTE_PROC_CONNECT_SUPPORTS_FEATURE.num) reply(encodePayload(P.REMOTE_PROC_CONNECT_SUPPORTS_FEATURE.ret, { supported: 0 }));
        else {
          if (header.proc === P.REMOTE_PROC_CONNECT_OPEN.num) {
            const args = decodePayload(P.REMOTE_PROC_CONNECT_OPEN.args, payload);
            names.push(args.name);
            flags.push(args.flags);
          }
          reply(encodePayload(remote_error, {
            code: 1, domain: 7, message: `internal error: ${RECORDER_REFUSAL}`, level: 2, dom: null,
            str1: 'internal error: %s', str2: RECORDER_REFUSAL, str3: null, int1: -1, int2: -1, net: null,
          }), MessageStatus.VIR_NET_ERROR);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    names,
    flags,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
