/**
 * The domain procedures: lookups, define/undefine, create/destroy/shutdown/suspend/resume,
 * and the state and information calls virsh's list, dominfo, domstate and dumpxml make.
 * Each goes through the public API (src/api), so flag checks, the read-only refusal and
 * every error are the library's, hence libvirt's.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import type { RemoteHandlers } from './handler-types.js';
import { uuidString } from '../rpc/wire-uuid.js';
import { domainOf, wireDomain } from './wire-objects.js';
import type { Domain } from '../api/domain.js';
import type { RemoteNonnullDomain } from '../rpc/generated/remote-protocol.js';
import type { ClientSession } from './client-session.js';
import type { DomainLifecycleEvents, LifecycleKind } from './domain-events.js';

/** A C string as libvirt sends `char x<N>` fields: its bytes and a NUL. */
const cString = (s: string): number[] => [...Buffer.from(`${s}\0`, 'utf8')];

/** The domain handlers; `events` hears of the lifecycle changes made through them. */
export function domainHandlers(events: DomainLifecycleEvents): RemoteHandlers {
  /** Runs `call` on the domain `wire` names, then raises `kind` for it (when the change has an event). */
  const change = async (s: ClientSession, wire: RemoteNonnullDomain, call: (d: Domain) => Promise<void>, kind?: LifecycleKind): Promise<Domain> => {
    const d = domainOf(s.connection(), wire);
    await call(d);
    if (kind) events.emit(s, d, kind);
    return d;
  };
  return {
    REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME: async (s, { name }) => ({ dom: wireDomain(await s.connection().domainLookupByName(name)) }),
    REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID: async (s, { uuid }) => ({ dom: wireDomain(await s.connection().domainLookupByUUIDString(uuidString(uuid))) }),
    REMOTE_PROC_DOMAIN_LOOKUP_BY_ID: async (s, { id }) => ({ dom: wireDomain(await s.connection().domainLookupByID(id)) }),

    REMOTE_PROC_DOMAIN_DEFINE_XML: async (s, { xml }) => ({ dom: wireDomain(await events.define(s, xml, 0)) }),
    REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS: async (s, { xml, flags }) => ({ dom: wireDomain(await events.define(s, xml, flags)) }),
    REMOTE_PROC_DOMAIN_CREATE_XML: async (s, { xml_desc, flags }) => {
      const dom = await s.connection().domainCreateXML(xml_desc, flags);
      events.emit(s, dom, 'STARTED');
      return { dom: wireDomain(dom) };
    },
    REMOTE_PROC_DOMAIN_UNDEFINE: async (s, { dom }) => { await change(s, dom, (d) => d.undefine(0), 'UNDEFINED'); return null; },
    REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS: async (s, { dom, flags }) => { await change(s, dom, (d) => d.undefine(flags), 'UNDEFINED'); return null; },
    REMOTE_PROC_DOMAIN_CREATE: async (s, { dom }) => { await change(s, dom, (d) => d.create(0), 'STARTED'); return null; },
    REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS: async (s, { dom, flags }) => ({ dom: wireDomain(await change(s, dom, (d) => d.create(flags), 'STARTED')) }),
    REMOTE_PROC_DOMAIN_DESTROY: async (s, { dom }) => { await change(s, dom, (d) => d.destroy(0), 'STOPPED_DESTROYED'); return null; },
    REMOTE_PROC_DOMAIN_DESTROY_FLAGS: async (s, { dom, flags }) => { await change(s, dom, (d) => d.destroy(flags), 'STOPPED_DESTROYED'); return null; },
    // A shutdown request is answered before the guest goes down: its STOPPED event is not the daemon's to see.
    REMOTE_PROC_DOMAIN_SHUTDOWN: async (s, { dom }) => { await change(s, dom, (d) => d.shutdown(0)); return null; },
    REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS: async (s, { dom, flags }) => { await change(s, dom, (d) => d.shutdown(flags)); return null; },
    REMOTE_PROC_DOMAIN_SUSPEND: async (s, { dom }) => { await change(s, dom, (d) => d.suspend(), 'SUSPENDED'); return null; },
    REMOTE_PROC_DOMAIN_RESUME: async (s, { dom }) => { await change(s, dom, (d) => d.resume(), 'RESUMED'); return null; },

    REMOTE_PROC_DOMAIN_GET_STATE: async (s, { dom }) => domainOf(s.connection(), dom).getState(),
    REMOTE_PROC_DOMAIN_GET_INFO: async (s, { dom }) => {
      const info = await domainOf(s.connection(), dom).getInfo();
      return { state: info.state, maxMem: BigInt(info.maxMemKiB), memory: BigInt(info.memoryKiB), nrVirtCpu: info.nrVirtCpu, cpuTime: info.cpuTimeNs };
    },
    REMOTE_PROC_DOMAIN_GET_MAX_MEMORY: async (s, { dom }) => ({ memory: BigInt((await domainOf(s.connection(), dom).getInfo()).maxMemKiB) }),
    REMOTE_PROC_DOMAIN_GET_OS_TYPE: async (s, { dom }) => ({ type: (await domainOf(s.connection(), dom).getExtraInfo()).osType }),
    REMOTE_PROC_DOMAIN_GET_AUTOSTART: async (s, { dom }) => ({ autostart: (await domainOf(s.connection(), dom).getExtraInfo()).autostart ? 1 : 0 }),
    REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE: async (s, { dom }) => ({ result: (await domainOf(s.connection(), dom).getExtraInfo()).managedSave ? 1 : 0 }),
    REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL: async (s, { dom }) => {
      const security = (await domainOf(s.connection(), dom).getExtraInfo()).security;
      if (!security) throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.DOMAIN, 'virDomainGetSecurityLabel');
      return { label: cString(security.label), enforcing: security.enforcing ? 1 : 0 };
    },
    // snapvirt keeps no domain messages (tainting, deprecations): always none.
    REMOTE_PROC_DOMAIN_GET_MESSAGES: async (s, { dom }) => { await domainOf(s.connection(), dom).getState(); return { msgs: [] }; },
    REMOTE_PROC_DOMAIN_GET_XML_DESC: async (s, { dom, flags }) => ({ xml: await domainOf(s.connection(), dom).getXMLDesc(flags) }),
    REMOTE_PROC_DOMAIN_IS_ACTIVE: async (s, { dom }) => ({ active: (await domainOf(s.connection(), dom).isActive()) ? 1 : 0 }),
    REMOTE_PROC_DOMAIN_IS_PERSISTENT: async (s, { dom }) => ({ persistent: (await domainOf(s.connection(), dom).isPersistent()) ? 1 : 0 }),
    // snapvirt has no separate live and next-boot definitions to differ.
    REMOTE_PROC_DOMAIN_IS_UPDATED: async (s, { dom }) => { await domainOf(s.connection(), dom).isActive(); return { updated: 0 }; },
  };
}
