/**
 * Which socket a remote URI without `socket=` reaches. libvirt picks libvirtd's or a
 * modular daemon's socket (mode legacy/direct/auto) under /var/run/libvirt, or the user's
 * runtime directory for `/session` URIs and `test+…` URIs of a non-root user. snapvirt has
 * one daemon, snapvirtd, so both modes name its socket, by the same user/system rule:
 * `$XDG_RUNTIME_DIR/snapvirt/snapvirtd-sock` (else `~/.cache/snapvirt/snapvirtd-sock`) for
 * a user's session, `/run/snapvirt/snapvirtd-sock` otherwise, `-ro` appended for a
 * read-only connection: the paths snapvirtd listens on by default. Over ssh the far
 * side's session directory cannot be known here (libvirt asks virt-ssh-helper there,
 * which snapvirt does not have), so a URI that would reach a user's daemon over ssh needs
 * `socket=`.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import { SYSTEM_SOCKET, userSocket } from '../../rpc/snapvirtd-socket.js';
import type { RemoteTarget } from './remote-uri.js';

/** Whether libvirt would use the per-user daemon for `t` (remoteGetURIDaemonInfo). */
function wantsUserDaemon(t: RemoteTarget, uid: number | undefined): boolean {
  return (t.path === '/session' || t.driver === 'test') && (uid ?? 0) > 0;
}

/** The socket `t` connects to (on the far side for ssh); throws libvirt's error for a mode the transport cannot use. */
export function socketPathFor(t: RemoteTarget, readOnly: boolean, uid = process.getuid?.(), env: NodeJS.ProcessEnv = process.env): string {
  if (t.socket !== undefined) return t.socket;
  if (t.mode === 'direct' && t.transport !== 'unix') {
    throw virError(VirErrorCode.OPERATION_UNSUPPORTED, VirErrorDomain.REMOTE, `Cannot use direct socket mode for ${t.transport} transport`);
  }
  const user = wantsUserDaemon(t, uid);
  if (t.transport === 'ssh' && user) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.REMOTE,
      `a session daemon over ssh needs the socket=PATH URI parameter (snapvirt cannot tell the far side's runtime directory)`);
  }
  const base = user ? userSocket(env) : SYSTEM_SOCKET;
  return readOnly ? `${base}-ro` : base;
}
