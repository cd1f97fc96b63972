/** The unix transport: a stream socket to the daemon's path, as virNetSocketNewConnectUNIX. */
import { createConnection, type Socket } from 'node:net';
import { errnoCode, strerror } from '../../api/errno-text.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import type { Wire } from './wire.js';

/** A wire over `socket`, once connected. */
export function socketWire(socket: Socket): Wire {
  let ended = false;
  const endListeners: ((errno: string | undefined) => void)[] = [];
  const end = (errno: string | undefined): void => {
    if (ended) return;
    ended = true;
    for (const l of endListeners) l(errno);
  };
  socket.on('error', (err) => end(errnoCode(err)));
  socket.on('end', () => end(undefined));
  socket.on('close', () => end(undefined));
  return {
    write: (frame) => { if (!socket.destroyed) socket.write(frame); },
    onData: (listener) => { socket.on('data', listener); },
    onEnd: (listener) => { endListeners.push(listener); },
    farSideText: () => '',
    close: () => { socket.destroy(); },
    ref: () => { socket.ref(); },
    unref: () => { socket.unref(); },
  };
}

/** Connects to `path`; a failure is libvirt's "Failed to connect socket to 'PATH': <strerror>" (RPC, system error). */
export function connectUnix(path: string): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socketWire(socket));
    });
    socket.once('error', (err) => {
      reject(virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.RPC, `Failed to connect socket to '${path}': ${strerror(errnoCode(err))}`));
    });
  });
}
