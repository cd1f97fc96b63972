/**
 * virDomainOpenConsole for the QEMU driver: the domain's console (or the character
 * device `devname` names) as a byte stream. QEMU says where the device is
 * (query-chardev): a pty is opened read-write, a unix socket QEMU serves is connected to
 * (libvirt 9.0 only attaches to ptys; see docs/COMPATIBILITY.md). Other backends get
 * libvirt's refusal.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import { ReadStream, WriteStream } from 'node:tty';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainRef } from '../../driver.js';
import type { TxnContext } from '../../../txn/context.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import { liveDef, liveRuntime } from './active-domains.js';
import { charDeviceAliases } from './devices/chardev-aliases.js';

/** Opens the console of running domain `dom`. */
export async function openConsole(ctx: TxnContext, dom: DomainRef, devname: string | undefined): Promise<Duplex> {
  const rt = await liveRuntime(ctx, dom.uuid);
  if (!rt) throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'domain is not running');
  const aliases = charDeviceAliases(liveDef(ctx, dom));
  const device = devname === undefined ? aliases[0] : aliases.find((a) => a.alias === devname);
  if (!device) throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `cannot find character device ${devname ?? '<null>'}`);
  const chardevs = await withMonitor(rt.runtimeDir, (qmp) => qmp.execute('query-chardev')) as { label: string; filename: string }[];
  const filename = chardevs.find((c) => c.label === device.chardev)?.filename ?? '';
  const notPty = (): Error => virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `character device ${devname ?? device.alias} is not using a PTY`);
  if (filename.startsWith('pty:')) return openPty(filename.slice('pty:'.length));
  const unix = /^(?:disconnected:)?unix:(.*),server=on$/.exec(filename);
  if (unix) {
    const socket = connect(unix[1]!);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (err) => reject(virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, `cannot connect to console socket '${unix[1]!}': ${err.message}`)));
    });
    return socket;
  }
  throw notPty();
}

/**
 * A pty as a stream: libuv tty handles (non-blocking) over two descriptors of the pty,
 * one read, one written (one descriptor cannot carry two handles).
 */
async function openPty(path: string): Promise<Duplex> {
  const flags = constants.O_RDWR | constants.O_NOCTTY;
  const reader = await open(path, flags);
  const writer = await open(path, flags).catch(async (err: unknown) => { await reader.close(); throw err; });
  const readable = new ReadStream(reader.fd);
  const writable = new WriteStream(writer.fd);
  const stream = Duplex.from({ readable, writable });
  stream.once('close', () => { readable.destroy(); writable.destroy(); });
  return stream;
}
