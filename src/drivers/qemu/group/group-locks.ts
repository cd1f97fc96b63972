/**
 * The domain locks of a group operation, taken one by one in the canonical order (by
 * UUID), so two group operations, or a group and a single-domain one, never wait on each
 * other in a cycle: whoever holds a lower UUID never waits for a higher one's holder to
 * want it. Each lock, as lockDomain does for one domain, finishes that domain's
 * interrupted operations first.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { lockDomain, type DomainLock, type TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';

/** The members in canonical order (by UUID); refuses an empty list and a domain listed twice. */
export function canonicalMembers(doms: readonly DomainRef[]): DomainRef[] {
  if (doms.length === 0) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT, 'a group snapshot needs at least one domain');
  }
  const sorted = [...doms].sort((a, b) => a.uuid.toLowerCase().localeCompare(b.uuid.toLowerCase()));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.uuid.toLowerCase() === sorted[i - 1]!.uuid.toLowerCase()) {
      throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT, `domain '${sorted[i]!.name}' is listed twice`);
    }
  }
  return sorted;
}

/** Runs `fn` holding the lock of every domain of `members` (already in canonical order). */
export async function lockMembers<T>(
  ctx: TxnContext, members: readonly DomainRef[], operation: string, fn: (locks: DomainLock[]) => Promise<T>,
): Promise<T> {
  const take = async (i: number, held: DomainLock[]): Promise<T> => {
    if (i === members.length) return fn(held);
    return lockDomain(ctx, members[i]!.uuid, operation, (lock) => take(i + 1, [...held, lock]));
  };
  return take(0, []);
}
