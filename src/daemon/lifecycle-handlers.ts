/**
 * The everyday lifecycle procedures beyond start and stop: virDomainReboot,
 * virDomainReset, virDomainSetAutostart and virDomainRename through the public API
 * (virDomainGetAutostart is served with the domain's other information, domain-handlers.ts).
 */
import type { RemoteHandlers } from './handler-types.js';
import { domainOf } from './wire-objects.js';
import type { DomainLifecycleEvents } from './domain-events.js';

/** The lifecycle handlers; `events` hears of a rename (libvirt raises UNDEFINED and DEFINED, both RENAMED). */
export function lifecycleHandlers(events: DomainLifecycleEvents): RemoteHandlers {
  return {
    REMOTE_PROC_DOMAIN_REBOOT: async (s, { dom, flags }) => { await domainOf(s.connection(), dom).reboot(flags); return null; },
    REMOTE_PROC_DOMAIN_RESET: async (s, { dom, flags }) => { await domainOf(s.connection(), dom).reset(flags); return null; },
    REMOTE_PROC_DOMAIN_SET_AUTOSTART: async (s, { dom, autostart }) => {
      await domainOf(s.connection(), dom).setAutostart(autostart !== 0);
      return null;
    },
    REMOTE_PROC_DOMAIN_RENAME: async (s, { dom, new_name, flags }) => {
      const d = domainOf(s.connection(), dom);
      const old = domainOf(s.connection(), dom);
      // A NULL new name reaches the API as such, for its "new_name … must not be NULL".
      await d.rename(new_name as string, flags);
      events.emit(s, old, 'UNDEFINED_RENAMED');
      events.emit(s, d, 'DEFINED_RENAMED');
      return { retcode: 0 };
    },
  };
}
