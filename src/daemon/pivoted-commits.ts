/**
 * The active commits a client ran through this daemon that already pivoted: snapvirt's
 * active commit pivots inside virDomainBlockCommit (docs/COMPATIBILITY.md), while a libvirt
 * client then asks for the pivot itself (virsh blockcommit --pivot calls
 * virDomainBlockJobAbort with PIVOT once the job is ready). That next PIVOT on the same disk,
 * from the same client, is the pivot already done and is answered as such; any other block
 * call on the disk forgets it, so a later PIVOT gets the library's "no active block job".
 */
import type { ClientSession } from './client-session.js';

const pivoted = new WeakMap<ClientSession, Set<string>>();
const key = (domainUuid: string, disk: string): string => `${domainUuid}\0${disk}`;

/** Remembers that `session`'s active commit of `disk` has pivoted. */
export function rememberPivot(session: ClientSession, domainUuid: string, disk: string): void {
  const set = pivoted.get(session) ?? new Set<string>();
  set.add(key(domainUuid, disk));
  pivoted.set(session, set);
}

/** Forgets it; true when it was remembered (the caller's PIVOT is then already done). */
export function takePivot(session: ClientSession, domainUuid: string, disk: string): boolean {
  return pivoted.get(session)?.delete(key(domainUuid, disk)) ?? false;
}
