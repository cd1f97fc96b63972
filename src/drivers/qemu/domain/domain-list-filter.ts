/**
 * virConnectListAllDomains filtering for a driver whose domains are all persistent and
 * shut off (the offline QEMU driver): flags in one group are OR'ed, groups are AND'ed.
 */
import { ListDomainsFlags as F } from '../../../api/flags.js';

/** The facts about one domain that the list filters look at. */
export interface DomainListFacts {
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  snapshotCount: number;
}

/** True when a group has some flag set and the domain matches none of the set ones. */
function groupRejects(flags: number, pairs: Array<[number, boolean]>): boolean {
  const set = pairs.filter(([bit]) => (flags & bit) !== 0);
  return set.length > 0 && !set.some(([, ok]) => ok);
}

/** Whether a domain with `facts` passes the VIR_CONNECT_LIST_DOMAINS_* `flags`. */
export function domainMatchesListFlags(facts: DomainListFacts, flags: number): boolean {
  const running = facts.active;
  return !(
    groupRejects(flags, [[F.ACTIVE, facts.active], [F.INACTIVE, !facts.active]]) ||
    groupRejects(flags, [[F.PERSISTENT, facts.persistent], [F.TRANSIENT, !facts.persistent]]) ||
    groupRejects(flags, [[F.RUNNING, running], [F.PAUSED, false], [F.SHUTOFF, !running], [F.OTHER, false]]) ||
    groupRejects(flags, [[F.MANAGEDSAVE, false], [F.NO_MANAGEDSAVE, true]]) ||
    groupRejects(flags, [[F.AUTOSTART, facts.autostart], [F.NO_AUTOSTART, !facts.autostart]]) ||
    groupRejects(flags, [[F.HAS_SNAPSHOT, facts.snapshotCount > 0], [F.NO_SNAPSHOT, facts.snapshotCount === 0]]) ||
    groupRejects(flags, [[F.HAS_CHECKPOINT, false], [F.NO_CHECKPOINT, true]])
  );
}
