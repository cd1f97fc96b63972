/**
 * The connection-level procedures: authentication ("none"), open and close (the URI a
 * client opens picks the driver, as with connect()), the identity calls, feature probes,
 * and the domain lists (the modern LIST_ALL_DOMAINS and the older id/name lists). CONNECT_OPEN
 * is openHandler(stores), which the handler table adds.
 */
import { connect } from '../api/connection.js';
import { defaultURI, isRemoteURI } from '../api/uri.js';
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import { ListDomainsFlags } from '../api/flags.js';
import { RemoteAuthType, type remoteProcedures } from '../rpc/generated/remote-protocol.js';
import type { ClientSession } from './client-session.js';
import type { Handler, RemoteHandlers } from './handler-types.js';
import { wireDomain } from './wire-objects.js';
import type { StorePool } from '../store/store-pool.js';

/** virConnectFlags: VIR_CONNECT_RO. */
const VIR_CONNECT_RO = 1;

/**
 * virDrvFeature values libvirtd answers itself: PROGRAM_KEEPALIVE (10),
 * REMOTE_EVENT_CALLBACK (14), REMOTE_CLOSE_CALLBACK (15). Any other is a driver feature
 * (migration, typed string parameters, …) that snapvirt's drivers do not have.
 */
const DAEMON_FEATURES = new Set([10, 14, 15]);

async function listIds(session: ClientSession, max: number): Promise<number[]> {
  const doms = await session.connection().listAllDomains(ListDomainsFlags.ACTIVE);
  return doms.map((d) => d.getID()).slice(0, Math.max(0, max));
}

async function listDefinedNames(session: ClientSession, max: number): Promise<string[]> {
  const doms = await session.connection().listAllDomains(ListDomainsFlags.INACTIVE);
  return doms.map((d) => d.getName()).slice(0, Math.max(0, max));
}

/**
 * CONNECT_OPEN: the URI a client opens picks the driver; a read-only socket opens
 * read-only. Every connection of the daemon borrows its state store from `stores` (one open
 * store per state directory), so a virsh command's open opens no database.
 */
export function openHandler(stores: StorePool): Handler<typeof remoteProcedures.REMOTE_PROC_CONNECT_OPEN> {
  return async (session, { name, flags }) => {
    session.beginOpen();
    try {
      // A client of the read-only socket gets a read-only connection whatever it asked.
      const readOnly = session.readOnlySocket || (flags & VIR_CONNECT_RO) !== 0;
      // Local drivers only: a remote URI would have the daemon run ssh (or its command=) as itself.
      const uri = name ?? defaultURI();
      if (isRemoteURI(uri)) throw virError(VirErrorCode.NO_CONNECT, VirErrorDomain.NONE, uri);
      session.endOpen(await connect(name ?? undefined, { readOnly, storePool: stores }));
    } catch (err) {
      session.endOpen(null);
      throw err;
    }
    return null;
  };
}

export const connectHandlers: RemoteHandlers = {
  REMOTE_PROC_AUTH_LIST: async () => ({ types: [RemoteAuthType.REMOTE_AUTH_NONE] }),

  REMOTE_PROC_CONNECT_SUPPORTS_FEATURE: async (_s, { feature }) => ({ supported: DAEMON_FEATURES.has(feature) ? 1 : 0 }),

  REMOTE_PROC_CONNECT_CLOSE: async (session) => {
    await session.close();
    return null;
  },

  // The close callback is the client library's; the daemon only acknowledges it.
  REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK: async (session) => { session.connection(); return null; },
  REMOTE_PROC_CONNECT_UNREGISTER_CLOSE_CALLBACK: async (session) => { session.connection(); return null; },

  REMOTE_PROC_CONNECT_GET_TYPE: async (s) => ({ type: s.connection().getType() }),
  REMOTE_PROC_CONNECT_GET_VERSION: async (s) => ({ hv_ver: BigInt(s.connection().getVersion()) }),
  REMOTE_PROC_CONNECT_GET_LIB_VERSION: async (s) => ({ lib_ver: BigInt(s.connection().getLibVersion()) }),
  REMOTE_PROC_CONNECT_GET_HOSTNAME: async (s) => ({ hostname: s.connection().getHostname() }),
  REMOTE_PROC_CONNECT_GET_URI: async (s) => ({ uri: s.connection().getURI() }),
  // A unix socket is as secure as the host (libvirtd answers 1 for it too).
  REMOTE_PROC_CONNECT_IS_SECURE: async (s) => { s.connection(); return { secure: 1 }; },

  REMOTE_PROC_NODE_GET_SECURITY_MODEL: async (s) => {
    // The test driver's model, as libvirt's test driver reports it; snapvirt's QEMU driver runs no security driver.
    if (s.connection().getType() === 'TEST') return { model: [...Buffer.from('testSecurity\0')], doi: [0] };
    throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.DOMAIN, 'virNodeGetSecurityModel');
  },

  REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS: async (s, { need_results, flags }) => {
    const doms = await s.connection().listAllDomains(flags);
    return { domains: need_results ? doms.map(wireDomain) : [], ret: doms.length };
  },
  REMOTE_PROC_CONNECT_LIST_DOMAINS: async (s, { maxids }) => ({ ids: await listIds(s, maxids) }),
  REMOTE_PROC_CONNECT_NUM_OF_DOMAINS: async (s) => ({ num: (await listIds(s, Infinity)).length }),
  REMOTE_PROC_CONNECT_LIST_DEFINED_DOMAINS: async (s, { maxnames }) => ({ names: await listDefinedNames(s, maxnames) }),
  REMOTE_PROC_CONNECT_NUM_OF_DEFINED_DOMAINS: async (s) => ({ num: (await listDefinedNames(s, Infinity)).length }),
};
