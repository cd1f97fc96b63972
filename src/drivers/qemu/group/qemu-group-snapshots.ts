/** The QEMU driver's group snapshot functions (GroupSnapshotDriver) over its store. */
import { formatGroupSnapshotXML, type GroupSnapshotDescription } from '../../../conf/groupsnapshot-xml.js';
import type { GroupSnapshotRecord } from '../../../store/index.js';
import type { TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import type { GroupMemberRef, GroupSnapshotDriver } from '../../group-snapshot-driver.js';
import { createGroupSnapshot, GROUP_CREATE } from './group-create.js';
import { deleteGroupSnapshot } from './group-delete.js';
import { noGroupSnapshot } from './group-members.js';
import { revertGroupSnapshot } from './group-revert.js';
import { registerGroupLiveRevertHandler } from './group-revert-live.js';
import { registerGroupHandlers } from './group-create-live.js';
import { registerGroupQuiesceHandlers } from './group-quiesce.js';

/** Registers the group operations' recovery on the driver's txn context (before recovery runs). */
export function registerGroupSnapshotHandlers(ctx: TxnContext): void {
  registerGroupHandlers(ctx, GROUP_CREATE);
  registerGroupLiveRevertHandler(ctx);
  registerGroupQuiesceHandlers(ctx);
}

/** Group snapshots of the domains in one QEMU driver's store. */
export class QemuGroupSnapshots implements GroupSnapshotDriver {
  constructor(readonly ctx: TxnContext) {}

  #group(name: string): GroupSnapshotRecord {
    const group = this.ctx.store.groups.get(name);
    if (!group) throw noGroupSnapshot(name);
    return group;
  }

  create(doms: readonly DomainRef[], xml: string, flags: number): Promise<string> {
    return createGroupSnapshot(this.ctx, doms, xml, flags);
  }

  revert(name: string, flags: number): Promise<void> {
    return revertGroupSnapshot(this.ctx, name, flags);
  }

  delete(name: string, flags: number): Promise<void> {
    return deleteGroupSnapshot(this.ctx, name, flags);
  }

  async listNames(): Promise<string[]> {
    return this.ctx.store.groups.list().map((g) => g.name);
  }

  async lookup(name: string): Promise<string> {
    return this.#group(name).name;
  }

  async members(name: string): Promise<GroupMemberRef[]> {
    return this.#group(name).members.map((m) => ({
      // A member's domain keeps its name in the store; one undefined since is shown by UUID.
      domain: { uuid: m.domainUuid, name: this.ctx.store.domains.get(m.domainUuid)?.name ?? m.domainUuid, id: -1 },
      snapshotName: m.snapshotName,
    }));
  }

  async getXMLDesc(name: string): Promise<string> {
    return formatGroupSnapshotXML(await this.describe(name));
  }

  async describe(name: string): Promise<GroupSnapshotDescription> {
    const group = this.#group(name);
    const members = await this.members(name);
    return {
      name: group.name,
      description: group.description,
      state: group.state,
      creationTime: group.creationTime,
      members: members.map((m) => ({ domainName: m.domain.name, domainUuid: m.domain.uuid, snapshotName: m.snapshotName })),
    };
  }

  async groupOf(dom: DomainRef, snapshotName: string): Promise<string | null> {
    return this.ctx.store.groups.groupOf(dom.uuid, snapshotName) ?? null;
  }
}
