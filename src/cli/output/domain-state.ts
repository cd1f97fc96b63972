/** virsh's words for domain states and their reasons (virshDomainStateToString, virshDomainStateReasonToString). */
import { DomainState } from '../../api/flags.js';

const STATE_NAMES: Record<number, string> = {
  [DomainState.RUNNING]: 'running',
  [DomainState.BLOCKED]: 'idle',
  [DomainState.PAUSED]: 'paused',
  [DomainState.SHUTDOWN]: 'in shutdown',
  [DomainState.SHUTOFF]: 'shut off',
  [DomainState.CRASHED]: 'crashed',
  [DomainState.PMSUSPENDED]: 'pmsuspended',
};

/** The state as `list`, `dominfo` and `domstate` print it. */
export function stateName(state: number): string {
  return STATE_NAMES[state] ?? 'no state';
}

const REASONS: Record<number, readonly string[]> = {
  [DomainState.RUNNING]: ['unknown', 'booted', 'migrated', 'restored', 'from snapshot', 'unpaused',
    'migration canceled', 'save canceled', 'event wakeup', 'crashed', 'post-copy', 'post-copy failed'],
  [DomainState.BLOCKED]: ['unknown'],
  [DomainState.PAUSED]: ['unknown', 'user', 'migrating', 'saving', 'dumping', 'I/O error', 'watchdog',
    'from snapshot', 'shutting down', 'creating snapshot', 'crashed', 'starting up', 'post-copy',
    'post-copy failed', 'api error'],
  [DomainState.SHUTDOWN]: ['unknown', 'user'],
  [DomainState.SHUTOFF]: ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed',
    'from snapshot', 'daemon'],
  [DomainState.CRASHED]: ['unknown', 'panicked'],
  [DomainState.PMSUSPENDED]: ['unknown'],
};

/** The reason as `domstate --reason` prints it. */
export function reasonName(state: number, reason: number): string {
  return REASONS[state]?.[reason] ?? 'unknown';
}
