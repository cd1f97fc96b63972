/**
 * The virDomainSnapshot* procedures, each through the public API (Domain, DomainSnapshot),
 * so flag checks, the read-only refusal and every error message are the library's.
 * need_results = 0 asks only for the count, as libvirt's list calls allow.
 */
import type { DomainSnapshot } from '../api/domain-snapshot.js';
import type { RemoteHandlers } from './handler-types.js';
import { domainOf, snapshotOf, wireSnapshot } from './wire-objects.js';

const listed = (snaps: DomainSnapshot[], needResults: number): { snapshots: ReturnType<typeof wireSnapshot>[]; ret: number } =>
  ({ snapshots: needResults ? snaps.map(wireSnapshot) : [], ret: snaps.length });

/** The first `max` names, as the older name-list calls return at most maxnames of them. */
const upTo = (names: string[], max: number): string[] => names.slice(0, Math.max(0, max));

export const snapshotHandlers: RemoteHandlers = {
  REMOTE_PROC_DOMAIN_SNAPSHOT_CREATE_XML: async (s, { dom, xml_desc, flags }) =>
    ({ snap: wireSnapshot(await domainOf(s.connection(), dom).snapshotCreateXML(xml_desc, flags)) }),
  REMOTE_PROC_DOMAIN_LIST_ALL_SNAPSHOTS: async (s, { dom, need_results, flags }) =>
    listed(await domainOf(s.connection(), dom).listAllSnapshots(flags), need_results),
  REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN: async (s, { snapshot, need_results, flags }) =>
    listed(await snapshotOf(s.connection(), snapshot).listAllChildren(flags), need_results),
  REMOTE_PROC_DOMAIN_SNAPSHOT_NUM: async (s, { dom, flags }) => ({ num: await domainOf(s.connection(), dom).snapshotNum(flags) }),
  REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_NAMES: async (s, { dom, maxnames, flags }) =>
    ({ names: upTo(await domainOf(s.connection(), dom).snapshotListNames(flags), maxnames) }),
  REMOTE_PROC_DOMAIN_SNAPSHOT_NUM_CHILDREN: async (s, { snap, flags }) => ({ num: await snapshotOf(s.connection(), snap).numChildren(flags) }),
  REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES: async (s, { snap, maxnames, flags }) =>
    ({ names: upTo(await snapshotOf(s.connection(), snap).listChildrenNames(flags), maxnames) }),
  REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME: async (s, { dom, name }) =>
    ({ snap: wireSnapshot(await domainOf(s.connection(), dom).snapshotLookupByName(name)) }),
  REMOTE_PROC_DOMAIN_HAS_CURRENT_SNAPSHOT: async (s, { dom }) => ({ result: (await domainOf(s.connection(), dom).hasCurrentSnapshot()) ? 1 : 0 }),
  REMOTE_PROC_DOMAIN_SNAPSHOT_CURRENT: async (s, { dom }) => ({ snap: wireSnapshot(await domainOf(s.connection(), dom).snapshotCurrent()) }),
  REMOTE_PROC_DOMAIN_SNAPSHOT_GET_XML_DESC: async (s, { snap, flags }) => ({ xml: await snapshotOf(s.connection(), snap).getXMLDesc(flags) }),
  REMOTE_PROC_DOMAIN_SNAPSHOT_GET_PARENT: async (s, { snap }) => ({ snap: wireSnapshot(await snapshotOf(s.connection(), snap).getParent()) }),
  REMOTE_PROC_DOMAIN_SNAPSHOT_IS_CURRENT: async (s, { snap }) => ({ current: (await snapshotOf(s.connection(), snap).isCurrent()) ? 1 : 0 }),
  REMOTE_PROC_DOMAIN_SNAPSHOT_HAS_METADATA: async (s, { snap }) => ({ metadata: (await snapshotOf(s.connection(), snap).hasMetadata()) ? 1 : 0 }),
  REMOTE_PROC_DOMAIN_REVERT_TO_SNAPSHOT: async (s, { snap, flags }) => { await snapshotOf(s.connection(), snap).revert(flags); return null; },
  REMOTE_PROC_DOMAIN_SNAPSHOT_DELETE: async (s, { snap, flags }) => { await snapshotOf(s.connection(), snap).delete(flags); return null; },
};
