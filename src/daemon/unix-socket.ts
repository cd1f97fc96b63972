/**
 * Listening on a unix socket path the way libvirtd does: its directory made (0700 for a
 * session daemon), a stale socket left by a daemon that died removed, a live one refused,
 * and the socket's mode set before anyone can connect.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { createConnection, type Server } from 'node:net';
import { dirname } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';

/** Whether a daemon answers on `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => { probe.destroy(); resolve(true); });
    probe.once('error', () => resolve(false));
  });
}

/** Makes the socket directory `dir` (mode `mode`) if missing. */
export async function ensureSocketDir(dir: string, mode: number): Promise<void> {
  if (!existsSync(dir)) await mkdir(dir, { recursive: true, mode });
}

/** Listens on `path` with mode `mode`; a socket file nobody answers on is taken over. */
export async function listenUnix(server: Server, path: string, mode: number): Promise<Server> {
  if (existsSync(path)) {
    if (await answers(path)) {
      throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.NONE, `another daemon is already listening on ${path}`);
    }
    await unlink(path);
  }
  await ensureSocketDir(dirname(path), 0o700);
  // The umask makes the socket private from its first moment; chmod then gives it its mode.
  const old = process.umask(0o077);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => { server.off('error', reject); resolve(); });
    });
  } finally {
    process.umask(old);
  }
  await chmod(path, mode);
  return server;
}
