/**
 * The remote driver's group snapshots, over snapvirt's own program (snapvirt_protocol.x,
 * procedures 7–15): a daemon that is not snapvirtd has none, and each call is refused
 * with VIR_ERR_NO_SUPPORT saying so (snapvirt-program.ts).
 */
import { snapvirtProcedures as S } from '../../rpc/generated/snapvirt-protocol.js';
import { uuidString } from '../../rpc/wire-uuid.js';
import type { GroupSnapshotDriver } from '../group-snapshot-driver.js';
import type { SnapvirtProgram } from './snapvirt-program.js';
import { domainRef, wireDomain } from './wire-refs.js';

export function remoteGroupSnapshots(program: SnapvirtProgram): GroupSnapshotDriver {
  return {
    async create(doms, xml, flags) {
      return (await program.call(S.SNAPVIRT_PROC_GROUP_SNAPSHOT_CREATE_XML, { doms: doms.map(wireDomain), xml, flags }, 'virGroupSnapshotCreateXML')).name;
    },
    async revert(name, flags) { await program.call(S.SNAPVIRT_PROC_GROUP_SNAPSHOT_REVERT, { name, flags }, 'virGroupSnapshotRevert'); },
    async delete(name, flags) { await program.call(S.SNAPVIRT_PROC_GROUP_SNAPSHOT_DELETE, { name, flags }, 'virGroupSnapshotDelete'); },
    async listNames() { return (await program.call(S.SNAPVIRT_PROC_GROUP_SNAPSHOT_LIST_NAMES, null, 'virConnectListAllGroupSnapshots')).names; },
    async lookup(name) { return (await program.call(S.SNAPVIRT_PROC_GROUP_SNAPSHOT_LOOKUP_BY_NAME, { name }, 'virGroupSnapshotLookupByName')).name; },
    async members(name) {
      const { members } = await program.call(S.SNAPVIRT_PROC_GROUP_SNAPSHOT_LIST_MEMBERS, { name }, 'virGroupSnapshotListMembers');
      return members.map((m) => ({ domain: domainRef(m.dom), snapshotName: m.snapshot }));
    },
    async describe(name) {
      const info = await program.call(S.SNAPVIRT_PROC_GROUP_SNAPSHOT_GET_INFO, { name }, 'virGroupSnapshotGetInfo');
      return {
        name: info.name,
        description: info.description,
        state: info.state,
        creationTime: Number(info.creation_time),
        members: info.members.map((m) => ({ domainName: m.domain_name, domainUuid: uuidString(m.domain_uuid), snapshotName: m.snapshot })),
      };
    },
    async getXMLDesc(name) { return (await program.call(S.SNAPVIRT_PROC_GROUP_SNAPSHOT_GET_XML_DESC, { name }, 'virGroupSnapshotGetXMLDesc')).xml; },
    async groupOf(dom, snapshotName) {
      const snap = { name: snapshotName, dom: wireDomain(dom) };
      return (await program.call(S.SNAPVIRT_PROC_GROUP_SNAPSHOT_OF_MEMBER, { snap }, 'virGroupSnapshotOfMember')).name;
    },
  };
}
