/**
 * A remote URI (`driver+transport://[user@][host][:port]/path?params`) read the way
 * libvirt's remote driver reads it (remoteSplitURIScheme, doRemoteOpen): the transport
 * after `+`, the client-only parameters taken out of the query (socket, mode, netcat,
 * keyfile, command, no_verify, no_tty, name, …), and the name sent in CONNECT_OPEN: the URI
 * with the transport, the server and the client-only parameters removed, so
 * `qemu+ssh://root@host/system?socket=/s&x=1` opens `qemu:///system?x=1` on the far side.
 * Errors are libvirt's, from its remote subsystem.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';

/** The transports libvirt knows; snapvirt's client speaks unix and ssh. */
export type RemoteTransport = 'unix' | 'ssh';
const LIBVIRT_TRANSPORTS = ['tls', 'unix', 'ssh', 'libssh2', 'ext', 'tcp', 'libssh'];
const SUPPORTED: readonly string[] = ['unix', 'ssh'];

export interface RemoteTarget {
  /** The driver part of the scheme: `qemu` of `qemu+ssh`. */
  driver: string;
  transport: RemoteTransport;
  /** The server, for ssh ('' when the URI has none: libvirt then uses localhost). */
  host: string;
  port: string | undefined;
  user: string | undefined;
  /** `socket=`: the daemon's socket (on the far side, for ssh). */
  socket: string | undefined;
  /** `mode=`: legacy or direct (auto when absent). */
  mode: 'auto' | 'legacy' | 'direct';
  netcat: string | undefined;
  keyfile: string | undefined;
  /** `command=`: the ssh binary. */
  command: string | undefined;
  /** `no_verify=1`: ssh -o StrictHostKeyChecking=no. */
  noVerify: boolean;
  /** `no_tty=1`: ssh -o BatchMode=yes (never prompt). */
  noTty: boolean;
  /** The URI the daemon is asked to open (CONNECT_OPEN's name). */
  name: string;
  /** The URI's path (`/session`, `/system`, `/default`, …). */
  path: string;
}

const remoteError = (code: VirErrorCode, detail: string): never => { throw virError(code, VirErrorDomain.REMOTE, detail); };

/** `no_tty=1` and friends: libvirt reads an integer; 0 leaves the default. */
function uriBool(name: string, value: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(value.trim())) remoteError(VirErrorCode.INVALID_ARG, `Failed to parse value of URI component ${name}`);
  return Number(value) !== 0;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The query split into its parameters, raw text kept for the ones passed through. */
function queryParams(query: string): { name: string; value: string; raw: string }[] {
  if (query === '') return [];
  return query.split('&').filter((p) => p !== '').map((raw) => {
    const eq = raw.indexOf('=');
    const name = decode(eq < 0 ? raw : raw.slice(0, eq));
    const value = eq < 0 ? '' : decode(raw.slice(eq + 1));
    return { name, value, raw };
  });
}

/** Reads `rawUri` (whose scheme has a `+`); throws libvirt's errors for what it refuses. */
export function parseRemoteURI(rawUri: string, url: URL): RemoteTarget {
  const scheme = url.protocol.replace(/:$/, '');
  const plus = scheme.indexOf('+');
  const driver = scheme.slice(0, plus);
  const transport = scheme.slice(plus + 1).toLowerCase();
  if (!LIBVIRT_TRANSPORTS.includes(transport)) {
    remoteError(VirErrorCode.INVALID_ARG, 'remote_open: transport in URL not recognised (should be tls|unix|ssh|ext|tcp|libssh2|libssh)');
  }
  const host = decode(url.hostname).replace(/^\[(.*)\]$/, '$1');
  if (transport === 'unix' && host !== '') {
    remoteError(VirErrorCode.INVALID_ARG, `using unix socket and remote server '${host}' is not supported.`);
  }
  if (!SUPPORTED.includes(transport)) {
    remoteError(VirErrorCode.OPERATION_UNSUPPORTED, `transport '${transport}' is not supported by snapvirt's remote driver (unix and ssh are)`);
  }

  const hashAt = rawUri.indexOf('#');
  const fragment = hashAt < 0 ? '' : rawUri.slice(hashAt + 1);
  const beforeHash = hashAt < 0 ? rawUri : rawUri.slice(0, hashAt);
  const queryAt = beforeHash.indexOf('?');
  const query = queryAt < 0 ? '' : beforeHash.slice(queryAt + 1);

  const t: RemoteTarget = {
    driver, transport: transport as RemoteTransport, host, port: url.port || undefined,
    user: url.username ? decode(url.username) : undefined,
    socket: undefined, mode: 'auto', netcat: undefined, keyfile: undefined, command: undefined,
    noVerify: false, noTty: false, name: '', path: url.pathname,
  };
  let name: string | undefined;
  let mode: string | undefined;
  const passed: string[] = [];
  for (const p of queryParams(query)) {
    switch (p.name.toLowerCase()) {
      case 'name': name = p.value; break;
      case 'socket': t.socket = p.value; break;
      case 'mode': mode = p.value; break;
      case 'netcat': t.netcat = p.value; break;
      case 'keyfile': t.keyfile = p.value; break;
      case 'command': t.command = p.value; break;
      case 'no_verify': t.noVerify = uriBool(p.name, p.value); break;
      case 'no_tty': t.noTty = uriBool(p.name, p.value); break;
      case 'no_sanity': uriBool(p.name, p.value); break;
      // Meant for TLS, SASL and libssh, which snapvirt's client does not speak: taken out, as libvirt does.
      case 'auth': case 'sshauth': case 'pkipath': case 'known_hosts': case 'known_hosts_verify':
      case 'tls_priority': case 'proxy': case 'authfile':
        break;
      default: passed.push(p.raw);
    }
  }
  if (mode !== undefined) {
    if (mode === 'auto' || mode === 'legacy' || mode === 'direct') t.mode = mode;
    else remoteError(VirErrorCode.INVALID_ARG, `Unknown remote mode '${mode}'`);
  }
  t.name = name ?? `${driver}://${url.pathname}${passed.length ? `?${passed.join('&')}` : ''}${fragment ? `#${fragment}` : ''}`;
  return t;
}
