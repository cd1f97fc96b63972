/**
 * A real snapvirtd for tests: bin/snapvirtd as a child process on a socket in a temp
 * directory, with its own state directory; ready once it logs that it listens. stop()
 * sends SIGTERM and waits for the exit; the log (its stderr) is kept for assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, type TempDir } from './temp-dir.js';

export const SNAPVIRTD = fileURLToPath(new URL('../../../bin/snapvirtd', import.meta.url));

export interface RunningDaemon {
  socket: string;
  roSocket: string;
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  log(): string;
  /** Resolves with the exit code once it has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, then waits for the exit (SIGKILL after 20 s). */
  stop(): Promise<number | null>;
}

/** A URI for virsh: `scheme+unix://PATH?socket=SOCKET` for a `scheme://PATH` URI. */
export function daemonUri(uri: string, socket: string): string {
  const m = /^([a-z]+):\/\/(.*)$/.exec(uri);
  if (!m) throw new Error(`not a URI: ${uri}`);
  return `${m[1]}+unix://${m[2]}?socket=${socket}`;
}

/** Starts snapvirtd with `args` (plus --socket DIR/sock); `env` adds to a minimal environment. */
export async function startSnapvirtd(dir: string, env: NodeJS.ProcessEnv = {}, args: readonly string[] = []): Promise<RunningDaemon> {
  const socket = join(dir, 'sock');
  const child = spawn(process.execPath, [SNAPVIRTD, '--socket', socket, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C', TZ: 'UTC', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`snapvirtd did not start: ${stderr}`)), 30_000);
    const check = (): void => {
      if (stderr.includes('listening on')) { clearTimeout(timer); resolve(); }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`snapvirtd exited with ${code}: ${stderr}`)); });
  });
  return {
    socket,
    roSocket: `${socket}-ro`,
    child,
    log: () => stderr,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A snapvirtd on qemu:///session (startSessionDaemon): its temp directory, state and images directories, and virsh's URI. */
export interface SessionDaemon {
  tmp: TempDir;
  daemon: RunningDaemon;
  stateDir: string;
  imageDir: string;
  uri: string;
}

/** Starts snapvirtd in a new temp directory (`prefix`), its state in `state/`, with an empty `images/` beside for the test's disks. */
export async function startSessionDaemon(prefix: string): Promise<SessionDaemon> {
  const tmp = await makeTempDir(prefix);
  const stateDir = join(tmp.path, 'state');
  const imageDir = join(tmp.path, 'images');
  await mkdir(imageDir);
  const daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: stateDir });
  return { tmp, daemon, stateDir, imageDir, uri: `qemu+unix:///session?socket=${daemon.socket}` };
}
