/**
 * Group snapshots through snapvirt's own program (snapvirt_protocol.x, procedures 7–15):
 * create, revert, delete, list, lookup, members, description, XML and a member's group,
 * each through the public API, so a remote client gets the checks, the read-only refusal
 * and the errors a local one gets.
 */
import { GroupSnapshot, groupOfSnapshot } from '../api/group-snapshot.js';
import { uuidBytes } from '../rpc/wire-uuid.js';
import type { SnapvirtHandlers } from './handler-types.js';
import { domainOf, snapshotOf, wireDomain } from './wire-objects.js';

type GroupHandlers = Pick<SnapvirtHandlers,
  | 'SNAPVIRT_PROC_GROUP_SNAPSHOT_CREATE_XML' | 'SNAPVIRT_PROC_GROUP_SNAPSHOT_REVERT' | 'SNAPVIRT_PROC_GROUP_SNAPSHOT_DELETE'
  | 'SNAPVIRT_PROC_GROUP_SNAPSHOT_LIST_NAMES' | 'SNAPVIRT_PROC_GROUP_SNAPSHOT_LOOKUP_BY_NAME' | 'SNAPVIRT_PROC_GROUP_SNAPSHOT_LIST_MEMBERS'
  | 'SNAPVIRT_PROC_GROUP_SNAPSHOT_GET_INFO' | 'SNAPVIRT_PROC_GROUP_SNAPSHOT_GET_XML_DESC' | 'SNAPVIRT_PROC_GROUP_SNAPSHOT_OF_MEMBER'>;

export const groupHandlers: GroupHandlers = {
  SNAPVIRT_PROC_GROUP_SNAPSHOT_CREATE_XML: async (s, { doms, xml, flags }) => {
    const conn = s.connection();
    const group = await conn.groupSnapshotCreateXML(doms.map((d) => domainOf(conn, d)), xml, flags);
    return { name: group.getName() };
  },
  SNAPVIRT_PROC_GROUP_SNAPSHOT_REVERT: async (s, { name, flags }) => {
    await GroupSnapshot.of(s.connection(), name).revert(flags);
    return null;
  },
  SNAPVIRT_PROC_GROUP_SNAPSHOT_DELETE: async (s, { name, flags }) => {
    await GroupSnapshot.of(s.connection(), name).delete(flags);
    return null;
  },
  SNAPVIRT_PROC_GROUP_SNAPSHOT_LIST_NAMES: async (s) => ({ names: (await s.connection().listAllGroupSnapshots()).map((g) => g.getName()) }),
  SNAPVIRT_PROC_GROUP_SNAPSHOT_LOOKUP_BY_NAME: async (s, { name }) => ({ name: (await s.connection().groupSnapshotLookupByName(name)).getName() }),
  SNAPVIRT_PROC_GROUP_SNAPSHOT_LIST_MEMBERS: async (s, { name }) => {
    const members = await GroupSnapshot.of(s.connection(), name).listMemberSnapshots();
    return { members: members.map((m) => ({ dom: wireDomain(m.getDomain()), snapshot: m.getName() })) };
  },
  SNAPVIRT_PROC_GROUP_SNAPSHOT_GET_INFO: async (s, { name }) => {
    const info = await GroupSnapshot.of(s.connection(), name).getInfo();
    return {
      name: info.name,
      description: info.description,
      state: info.state,
      creation_time: BigInt(info.creationTime),
      members: info.members.map((m) => ({ domain_name: m.domainName, domain_uuid: uuidBytes(m.domainUuid), snapshot: m.snapshotName })),
    };
  },
  SNAPVIRT_PROC_GROUP_SNAPSHOT_GET_XML_DESC: async (s, { name }) => ({ xml: await GroupSnapshot.of(s.connection(), name).getXMLDesc() }),
  SNAPVIRT_PROC_GROUP_SNAPSHOT_OF_MEMBER: async (s, { snap }) => ({ name: (await groupOfSnapshot(snapshotOf(s.connection(), snap)))?.getName() ?? null }),
};
