/**
 * A throwaway OpenSSH server for the ssh transport's tests: /usr/sbin/sshd in the
 * foreground on 127.0.0.1 and a free port, with its own host key, a user key for root,
 * authorized_keys, pid file and config in a temp dir (StrictModes off, keys only). The
 * clients run `ssh` through a wrapper (the URI's command=) that reads no user or system
 * config and trusts only this server's host key, so nothing in ~/.ssh is read or written.
 * stop() ends sshd and removes the directory (and /run/sshd when it made it).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, type TempDir } from './temp-dir.js';

const run = promisify(execFile);
const PRIVSEP_DIR = '/run/sshd';

export interface TestSshd {
  port: number;
  /** The user key's private half (keyfile=). */
  keyfile: string;
  /** An ssh wrapper for command=: no config files, only this server's host key trusted. */
  sshCommand: string;
  /** The directory everything lives in. */
  dir: string;
  /** What sshd logged (its stderr). */
  log(): string;
  stop(): Promise<void>;
}

/** A port nobody listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function startSshd(): Promise<TestSshd> {
  const tmp: TempDir = await makeTempDir('snapvirt-sshd-');
  const dir = tmp.path;
  const madePrivsep = !existsSync(PRIVSEP_DIR);
  if (madePrivsep) await mkdir(PRIVSEP_DIR, { mode: 0o755 });
  let child: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await tmp.cleanup();
    if (madePrivsep) await rm(PRIVSEP_DIR, { recursive: true, force: true });
  };
  try {
    const hostKey = join(dir, 'host_key');
    const keyfile = join(dir, 'id_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'snapvirt-test-host', '-f', hostKey]);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'snapvirt-test-user', '-f', keyfile]);
    await writeFile(join(dir, 'authorized_keys'), await readFile(`${keyfile}.pub`), { mode: 0o600 });
    const port = await freePort();
    const hostPub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ');
    await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`);
    const config = join(dir, 'sshd_config');
    await writeFile(config, [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'StrictModes no', 'PubkeyAuthentication yes',
      'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'UsePAM no',
      'LogLevel ERROR', '',
    ].join('\n'));
    const sshCommand = join(dir, 'ssh');
    await writeFile(sshCommand, `#!/bin/sh\nexec ssh -F /dev/null -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes "$@"\n`);
    await chmod(sshCommand, 0o755);

    let stderr = '';
    child = spawn('/usr/sbin/sshd', ['-D', '-f', config, '-e'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
    const started = child;
    await new Promise<void>((resolve, reject) => {
      started.once('exit', (code) => reject(new Error(`sshd exited with ${code}: ${stderr}`)));
      // sshd writes its pid file once it listens.
      const poll = (): void => {
        if (started.exitCode !== null) return;
        if (existsSync(join(dir, 'sshd.pid'))) resolve();
        else setTimeout(poll, 20);
      };
      poll();
    });
    return { port, keyfile, sshCommand, dir, log: () => stderr, stop: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
