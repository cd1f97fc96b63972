/**
 * Where the QEMU driver keeps its state: qemu:///system under /var/lib/snapvirt,
 * qemu:///session under $XDG_DATA_HOME/snapvirt (else ~/.local/share/snapvirt), and
 * SNAPVIRT_STATE_DIR overriding both (tests point it at a temp dir).
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';

/** The two QEMU connection flavours libvirt has. */
export type QemuUriKind = 'system' | 'session';

/**
 * The kind of a qemu:// URI. Like libvirt, only a local URI with path /system or /session
 * is accepted; anything else is libvirt's "unexpected QEMU URI path" error.
 */
export function qemuUriKind(uri: URL): QemuUriKind {
  if (uri.hostname !== '') {
    throw virError(VirErrorCode.NO_CONNECT, VirErrorDomain.QEMU, `remote host '${uri.hostname}' in ${uri.href}`);
  }
  if (uri.pathname === '/system') return 'system';
  if (uri.pathname === '/session') return 'session';
  throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU,
    `unexpected QEMU URI path '${uri.pathname}', try qemu:///system or qemu:///session`);
}

/** The state directory for a connection of `kind`, honouring SNAPVIRT_STATE_DIR and XDG_DATA_HOME. */
export function stateDirFor(kind: QemuUriKind, env: NodeJS.ProcessEnv = process.env): string {
  const override = env.SNAPVIRT_STATE_DIR;
  if (override) {
    // A relative state dir would move with the process's cwd; refuse it rather than guess.
    if (!isAbsolute(override)) {
      throw virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU, `SNAPVIRT_STATE_DIR '${override}' must be an absolute path`);
    }
    return override;
  }
  if (kind === 'system') return '/var/lib/snapvirt';
  const xdg = env.XDG_DATA_HOME;
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  if (xdg && isAbsolute(xdg)) return join(xdg, 'snapvirt');
  return join(env.HOME || homedir(), '.local', 'share', 'snapvirt');
}

/** The SQLite database file inside a state directory. */
export function databasePathIn(stateDir: string): string {
  return join(stateDir, 'snapvirt.db');
}
