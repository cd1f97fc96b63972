/**
 * The ssh transport as libvirt's virNetSocketNewConnectSSH runs it: the system `ssh`
 * (or `command=`) with `-p PORT`, `-l USER`, `-i KEYFILE`, `-T -e none`, `-o
 * BatchMode=yes` for no_tty, `-o StrictHostKeyChecking=no` for no_verify, then `-- HOST`
 * and a far-side command that joins its stdin and stdout to the daemon's socket with
 * netcat (`nc -U SOCKET`, `-q0` where that nc needs it to exit at EOF; `netcat=` names
 * another binary). The RPC protocol then flows over ssh's stdin and stdout; what ssh says
 * on stderr goes into the error when the pipe ends. libvirt's newer virt-ssh-helper is
 * not used (snapvirt's daemon has none): this is libvirt's `mode=legacy` netcat proxy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { errnoCode, strerror } from '../../api/errno-text.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import type { RemoteTarget } from './remote-uri.js';
import type { Wire } from './wire.js';

/** How much of ssh's stderr is kept for an error message. */
const STDERR_KEEP = 4096;

/** `text` as one word for sh: unquoted when plain, else in single quotes (as virBufferEscapeShell). */
export function shellQuote(text: string): string {
  if (text !== '' && !/[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The far side's command: netcat joined to `socket`, run by sh whatever the login shell. */
export function netcatCommand(netcat: string | undefined, socket: string): string {
  const nc = shellQuote(netcat ?? 'nc');
  const script = `if ${nc} -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;${nc} $ARG -U ${shellQuote(socket)}`;
  return `sh -c ${shellQuote(script)}`;
}

/** ssh's argv (without the binary) for `t`, reaching `socket` on the far side. */
export function sshArgs(t: RemoteTarget, socket: string): string[] {
  const args: string[] = [];
  if (t.port !== undefined) args.push('-p', t.port);
  if (t.user !== undefined) args.push('-l', t.user);
  if (t.keyfile !== undefined) args.push('-i', t.keyfile);
  args.push('-T', '-e', 'none');
  if (t.noTty) args.push('-o', 'BatchMode=yes');
  if (t.noVerify) args.push('-o', 'StrictHostKeyChecking=no');
  args.push('--', t.host === '' ? 'localhost' : t.host, netcatCommand(t.netcat, socket));
  return args;
}

function pipeOf(stream: unknown): Socket | undefined {
  return stream as Socket | undefined;
}

function childWire(child: ChildProcess): Wire {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString('utf8')).slice(-STDERR_KEEP); });
  let ended = false;
  let heard = false;
  child.stdout?.on('data', () => { heard = true; });
  const endListeners: ((errno: string | undefined) => void)[] = [];
  const end = (errno: string | undefined): void => {
    if (ended) return;
    ended = true;
    // ssh's last words arrive on stderr around the time stdout ends: wait for the exit, which follows both.
    const tell = (): void => {
      // ssh exits 255 for its own failures (connect, host key, auth): it never read what was
      // written to it, so libvirt, whose socketpair then resets, reports a reset connection.
      const reset = errno === undefined && !heard && child.exitCode === 255;
      for (const l of endListeners) l(reset ? 'ECONNRESET' : errno);
    };
    if (child.exitCode !== null || child.signalCode !== null) tell();
    else child.once('close', tell);
  };
  child.stdout?.on('end', () => end(undefined));
  child.stdout?.on('error', (err) => end(errnoCode(err)));
  child.stdin?.on('error', () => undefined);
  child.on('error', (err) => end(errnoCode(err)));
  const handles = (): (Socket | ChildProcess | undefined)[] => [child, pipeOf(child.stdout), pipeOf(child.stdin), pipeOf(child.stderr)];
  return {
    write: (frame) => { if (child.stdin && !child.stdin.destroyed) child.stdin.write(frame); },
    onData: (listener) => { child.stdout?.on('data', listener); },
    onEnd: (listener) => { endListeners.push(listener); },
    farSideText: () => stderr.trimEnd(),
    close: () => {
      child.stdin?.end();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
    ref: () => { for (const h of handles()) h?.ref(); },
    unref: () => { for (const h of handles()) h?.unref(); },
  };
}

/** Starts ssh for `t`; resolves once it runs (its failure to connect shows as the pipe's end). */
export function connectSsh(t: RemoteTarget, socket: string): Promise<Wire> {
  const binary = t.command ?? 'ssh';
  return new Promise((resolve, reject) => {
    const child = spawn(binary, sshArgs(t, socket), { stdio: ['pipe', 'pipe', 'pipe'] });
    child.once('spawn', () => resolve(childWire(child)));
    child.once('error', (err) => {
      reject(virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.NONE, `Cannot find '${binary}' in path: ${strerror(errnoCode(err))}`));
    });
  });
}
