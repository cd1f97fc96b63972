/**
 * Domain events as libvirt numbers them (virDomainEventID, virDomainEventType): what
 * Connection.domainEventRegisterAny registers for and what its callback receives.
 */
import type { Domain } from './domain.js';

/** virDomainEventID: which event a registration is for. snapvirt delivers LIFECYCLE. */
export const DomainEventID = {
  LIFECYCLE: 0,
} as const;
export type DomainEventID = (typeof DomainEventID)[keyof typeof DomainEventID];

/** virDomainEventType: what happened to the domain (the detail's meaning depends on it, as in libvirt). */
export const DomainEventType = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;
export type DomainEventType = (typeof DomainEventType)[keyof typeof DomainEventType];

/** virConnectDomainEventCallback: the domain, the event type and its detail (e.g. DEFINED with 0 = ADDED, 1 = UPDATED). */
export type DomainLifecycleCallback = (dom: Domain, event: DomainEventType, detail: number) => void;
