/**
 * snapvirtd's command line: `snapvirtd [--socket PATH] [--daemon --pid-file FILE]
 * [--timeout SECS] [--max-clients N]`; the default socket (libvirt's layout: $XDG_RUNTIME_DIR
 * for a session daemon, /run for root) is rpc/snapvirtd-socket.ts's, shared with the client.
 */
import { defaultSocketPath } from '../rpc/snapvirtd-socket.js';

export interface DaemonOptions {
  socketPath: string;
  daemon: boolean;
  pidFile: string | undefined;
  /** Where log lines go instead of stderr (appended). */
  logFile: string | undefined;
  /** Seconds idle (no client) before exiting; 0: never. */
  timeout: number;
  maxClients: number;
  help: boolean;
  version: boolean;
}

export const USAGE = `Usage: snapvirtd [OPTION]...

Serves snapvirt's drivers (qemu:///session, qemu:///system, test:///default,
test:///PATH.xml) over libvirt's RPC protocol, for virsh, libvirt-python and other
libvirt clients: virsh -c 'qemu+unix:///session?socket=SOCKET'.

Options:
  --socket PATH       the read-write socket (default: $XDG_RUNTIME_DIR/snapvirt/snapvirtd-sock,
                      /run/snapvirt/snapvirtd-sock for root); PATH-ro is the read-only one
  --daemon            run in the background (with --pid-file)
  --pid-file FILE     write the daemon's pid to FILE
  --log-file FILE     append log lines to FILE instead of stderr (a --daemon has no stderr)
  --timeout SECS      exit after SECS seconds with no client and no call
  --max-clients N     serve at most N clients at once (default 120)
  -h, --help          this help
  -V, --version       the version
`;

/** A command-line mistake: its message, for stderr, and exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function count(name: string, text: string | undefined, min: number): number {
  if (text === undefined || !/^[0-9]+$/.test(text)) throw new UsageError(`${name} needs a whole number, not ${text === undefined ? 'nothing' : `'${text}'`}`);
  const n = Number(text);
  if (n < min) throw new UsageError(`${name} must be at least ${min}`);
  return n;
}

/** Parses argv (without node and the script). */
export function parseDaemonArgs(argv: readonly string[]): DaemonOptions {
  const o: DaemonOptions = { socketPath: defaultSocketPath(), daemon: false, pidFile: undefined, logFile: undefined, timeout: 0, maxClients: 120, help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--socket': { const v = value(); if (!v) throw new UsageError('--socket needs a path'); o.socketPath = v; break; }
      case '--pid-file': { const v = value(); if (!v) throw new UsageError('--pid-file needs a path'); o.pidFile = v; break; }
      case '--log-file': { const v = value(); if (!v) throw new UsageError('--log-file needs a path'); o.logFile = v; break; }
      case '--daemon': case '-d': o.daemon = true; break;
      case '--timeout': case '-t': o.timeout = count('--timeout', value(), 0); break;
      case '--max-clients': o.maxClients = count('--max-clients', value(), 1); break;
      case '--help': case '-h': o.help = true; break;
      case '--version': case '-V': o.version = true; break;
      default: throw new UsageError(`unknown option '${argv[i]}'`);
    }
  }
  return o;
}
