/**
 * Where snapvirtd listens by default, and so where a client finds it without `socket=`:
 * `/run/snapvirt/snapvirtd-sock` for the system (root's) daemon, and
 * `$XDG_RUNTIME_DIR/snapvirt/snapvirtd-sock` (else `~/.cache/snapvirt/snapvirtd-sock`)
 * for a user's session daemon; the read-only socket is the same path with `-ro`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** snapvirtd's system socket (root's daemon). */
export const SYSTEM_SOCKET = '/run/snapvirt/snapvirtd-sock';

/** A user's session socket. */
export function userSocket(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR || join(env.HOME || homedir(), '.cache');
  return join(runtime, 'snapvirt', 'snapvirtd-sock');
}

/** The socket a daemon run by `uid` listens on by default. */
export function defaultSocketPath(uid: number | undefined = process.getuid?.(), env: NodeJS.ProcessEnv = process.env): string {
  return uid === 0 ? SYSTEM_SOCKET : userSocket(env);
}
