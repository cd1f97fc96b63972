/**
 * Which lifecycle events a change of a domain's state stands for, when the daemon did not
 * make the change itself (another process did, or the guest): from how the domain looked
 * before and after, with the detail taken from the new state's reason, as libvirt's QEMU
 * driver would have raised them when making the change (virDomainEventType and its details
 * in libvirt-domain.h).
 */
import { DomainEventType as E } from './domain-events.js';
import { DomainState, PausedReason, RunningReason, ShutoffReason } from './domain-state.js';

/** One domain as seen at one moment. */
export interface SeenDomain {
  name: string;
  persistent: boolean;
  /** The runtime id; -1 while shut off. */
  id: number;
  state: number;
  reason: number;
}

/** An event and its detail, as libvirt numbers them, and the domain's name in it (a rename's UNDEFINED has the old one). */
export type LifecycleEvent = readonly [event: number, detail: number, name: string];

// The detail enums (virDomainEvent*DetailType) this derivation uses.
const DEFINED_ADDED = 0;
const DEFINED_RENAMED = 2;
const UNDEFINED_REMOVED = 0;
const UNDEFINED_RENAMED = 1;
const STARTED = { BOOTED: 0, RESTORED: 2, FROM_SNAPSHOT: 3 } as const;
const SUSPENDED = { PAUSED: 0, FROM_SNAPSHOT: 5 } as const;
const RESUMED = { UNPAUSED: 0, FROM_SNAPSHOT: 2 } as const;
const STOPPED = { SHUTDOWN: 0, DESTROYED: 1, CRASHED: 2, SAVED: 4, FAILED: 5, FROM_SNAPSHOT: 6 } as const;

const active = (d: SeenDomain | undefined): boolean => d !== undefined && d.id !== -1;

function startedDetail(after: SeenDomain): number {
  if (after.state === DomainState.RUNNING && after.reason === RunningReason.RESTORED) return STARTED.RESTORED;
  const fromSnapshot = after.state === DomainState.RUNNING ? RunningReason.FROM_SNAPSHOT : PausedReason.FROM_SNAPSHOT;
  return after.reason === fromSnapshot ? STARTED.FROM_SNAPSHOT : STARTED.BOOTED;
}

function stoppedDetail(after: SeenDomain | undefined): number {
  switch (after?.reason) {
    case ShutoffReason.DESTROYED: return STOPPED.DESTROYED;
    case ShutoffReason.CRASHED: return STOPPED.CRASHED;
    case ShutoffReason.SAVED: return STOPPED.SAVED;
    case ShutoffReason.FAILED: return STOPPED.FAILED;
    case ShutoffReason.FROM_SNAPSHOT: return STOPPED.FROM_SNAPSHOT;
    // A guest that powered itself off, or a transient domain that is gone: its reason is not known.
    default: return STOPPED.SHUTDOWN;
  }
}

/**
 * The events between `before` and `after` (undefined: the domain did not exist), in the
 * order libvirt raises them: a domain that stops and is undefined is STOPPED, then
 * UNDEFINED; one that is defined and started is DEFINED, then STARTED (then SUSPENDED when
 * it started paused).
 */
export function lifecycleTransitions(before: SeenDomain | undefined, after: SeenDomain | undefined): LifecycleEvent[] {
  const current = after ?? before;
  if (!current) return [];
  const events: LifecycleEvent[] = [];
  const push = (event: number, detail: number, name = current.name): void => { events.push([event, detail, name]); };
  if (before && after && before.name !== after.name) {
    push(E.UNDEFINED, UNDEFINED_RENAMED, before.name);
    push(E.DEFINED, DEFINED_RENAMED);
  }
  const restarted = active(before) && active(after) && before!.id !== after!.id;
  if (active(before) && (!active(after) || restarted)) push(E.STOPPED, stoppedDetail(restarted ? undefined : after));
  if (before?.persistent && !after?.persistent) push(E.UNDEFINED, UNDEFINED_REMOVED);
  if (after?.persistent && !before?.persistent) push(E.DEFINED, DEFINED_ADDED);
  if (!after || !active(after)) return events;
  const wasPaused = active(before) && !restarted && before!.state === DomainState.PAUSED;
  const fromSnapshot = after.reason === (after.state === DomainState.PAUSED ? PausedReason.FROM_SNAPSHOT : RunningReason.FROM_SNAPSHOT);
  if (!active(before) || restarted) {
    push(E.STARTED, startedDetail(after));
    if (after.state === DomainState.PAUSED) push(E.SUSPENDED, fromSnapshot ? SUSPENDED.FROM_SNAPSHOT : SUSPENDED.PAUSED);
  } else if (after.state === DomainState.PAUSED && !wasPaused) {
    push(E.SUSPENDED, fromSnapshot ? SUSPENDED.FROM_SNAPSHOT : SUSPENDED.PAUSED);
  } else if (after.state === DomainState.RUNNING && wasPaused) {
    push(E.RESUMED, fromSnapshot ? RESUMED.FROM_SNAPSHOT : RESUMED.UNPAUSED);
  }
  return events;
}
