/**
 * A qemu:///session connection whose state lives in a fresh temp dir (SNAPVIRT_STATE_DIR),
 * plus a temp dir for images, for tests of the QEMU driver through the public API.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type Connection } from '../../src/api/connection.js';
import { killQemusUnder } from './kill-qemus.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

/** An open session connection and the directories it uses. */
export interface QemuTestEnv {
  conn: Connection;
  tmp: TempDir;
  stateDir: string;
  imageDir: string;
  /** Closes the connection and opens a new one on the same state (as a new process would). */
  reopen(): Promise<Connection>;
  cleanup(): Promise<void>;
}

/** Opens qemu:///session on `stateDir` (recovery runs, as in any new process); SNAPVIRT_STATE_DIR is set only while connecting. */
export async function openSessionAt(stateDir: string): Promise<Connection> {
  const saved = process.env.SNAPVIRT_STATE_DIR;
  process.env.SNAPVIRT_STATE_DIR = stateDir;
  try {
    return await connect('qemu:///session');
  } finally {
    if (saved === undefined) delete process.env.SNAPVIRT_STATE_DIR;
    else process.env.SNAPVIRT_STATE_DIR = saved;
  }
}

/** Opens qemu:///session on a temp state dir. SNAPVIRT_STATE_DIR is set only while connecting. */
export async function openQemuTestEnv(): Promise<QemuTestEnv> {
  const tmp = await makeTempDir('snapvirt-qemu-');
  const stateDir = join(tmp.path, 'state');
  const imageDir = join(tmp.path, 'images');
  await mkdir(imageDir, { mode: 0o700 });
  const open = (): Promise<Connection> => openSessionAt(stateDir);
  const env: QemuTestEnv = {
    conn: await open(),
    tmp,
    stateDir,
    imageDir,
    async reopen() {
      await env.conn.close();
      env.conn = await open();
      return env.conn;
    },
    async cleanup() {
      await env.conn.close().catch(() => undefined);
      // A test that failed before its destroy (or whose destroy ran after this close) must
      // not leave its QEMU running: kill whatever QEMU still has a pidfile in this state.
      await killQemusUnder(stateDir);
      await tmp.cleanup();
    },
  };
  return env;
}
