/**
 * Group snapshots: snapvirt's own API beside libvirt's (libvirt has no group snapshots).
 * A group snapshot is one snapshot of several domains of one connection, created all or
 * nothing across them; each member is an ordinary DomainSnapshot named as the group.
 * Reached through Connection.groupSnapshotCreateXML, groupSnapshotLookupByName and
 * listAllGroupSnapshots. A driver without group snapshots (test; remote through a daemon
 * that is not snapvirtd) answers VIR_ERR_NO_SUPPORT.
 */
import type { GroupSnapshotDescription } from '../conf/groupsnapshot-xml.js';
import type { DomainRef } from '../drivers/driver.js';
import type { GroupSnapshotDriver } from '../drivers/group-snapshot-driver.js';
import type { Connection } from './connection.js';
import { Domain } from './domain.js';
import { DomainSnapshot } from './domain-snapshot.js';
import { virError, VirErrorCode, VirErrorDomain } from './errors.js';
import type { SnapshotCreateFlags, SnapshotRevertFlags, UntypedFlags } from './flags.js';

/** The group snapshot part of `conn`'s driver, or VIR_ERR_NO_SUPPORT naming the call. */
export function groupDriverOf(conn: Connection, functionName: string): GroupSnapshotDriver {
  const groups = conn.driverFor(functionName, VirErrorDomain.DOMAIN_SNAPSHOT).groupSnapshots;
  if (!groups) throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.DOMAIN_SNAPSHOT, functionName);
  return groups;
}

/** A group snapshot handle: a connection plus the group's name. */
export class GroupSnapshot {
  /** @internal The group's name (getName() is the public way). */
  readonly name: string;
  readonly #conn: Connection;

  private constructor(conn: Connection, name: string) {
    this.#conn = conn;
    this.name = name;
  }

  /** @internal A handle for the group `name` on `conn` (it need not exist). */
  static of(conn: Connection, name: string): GroupSnapshot { return new GroupSnapshot(conn, name); }

  /** The group's name. */
  getName(): string { return this.name; }
  /** The connection it was reached through. */
  getConnect(): Connection { return this.#conn; }

  /** The `<groupsnapshot>` document: name, description, state, creationTime, members. */
  async getXMLDesc(): Promise<string> {
    return groupDriverOf(this.#conn, 'virGroupSnapshotGetXMLDesc').getXMLDesc(this.name);
  }

  /** The group's name, description, state, creation time (epoch seconds) and members, as data. */
  async getInfo(): Promise<GroupSnapshotDescription> {
    return groupDriverOf(this.#conn, 'virGroupSnapshotGetInfo').describe(this.name);
  }

  /** Reverts every member to its snapshot of the group, all or nothing (RUNNING/PAUSED: every member ends so). */
  async revert(flags: SnapshotRevertFlags | UntypedFlags = 0): Promise<void> {
    const groups = groupDriverOf(this.#conn, 'virGroupSnapshotRevert');
    this.#conn.denyIfReadOnly('virGroupSnapshotRevert');
    await groups.revert(this.name, flags);
  }

  /** Deletes the group and every member's snapshot, all or nothing (flags: none yet). */
  async delete(flags: UntypedFlags = 0): Promise<void> {
    const groups = groupDriverOf(this.#conn, 'virGroupSnapshotDelete');
    this.#conn.denyIfReadOnly('virGroupSnapshotDelete');
    await groups.delete(this.name, flags);
  }

  /** Every member's snapshot (an ordinary DomainSnapshot of its domain), in canonical (UUID) order. */
  async listMemberSnapshots(): Promise<DomainSnapshot[]> {
    const members = await groupDriverOf(this.#conn, 'virGroupSnapshotListMembers').members(this.name);
    return members.map((m) => DomainSnapshot.of(Domain.of(this.#conn, m.domain), m.snapshotName));
  }
}

/** Connection.groupSnapshotCreateXML: creates a group snapshot of `domains`, all or nothing. */
export async function groupSnapshotCreateXML(
  conn: Connection, domains: readonly Domain[], xml: string, flags: SnapshotCreateFlags | UntypedFlags,
): Promise<GroupSnapshot> {
  const groups = groupDriverOf(conn, 'virGroupSnapshotCreateXML');
  conn.denyIfReadOnly('virGroupSnapshotCreateXML');
  const refs: DomainRef[] = domains.map((d) => {
    if (d.getConnect() !== conn) {
      throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT, `domain '${d.handle.name}' belongs to another connection`);
    }
    return d.handle;
  });
  return GroupSnapshot.of(conn, await groups.create(refs, xml, flags));
}

/** The group (if any) that a domain's snapshot is a member of. */
export async function groupOfSnapshot(snapshot: DomainSnapshot): Promise<GroupSnapshot | null> {
  const conn = snapshot.getConnect();
  const name = await groupDriverOf(conn, 'virGroupSnapshotOfMember').groupOf(snapshot.domain.handle, snapshot.name);
  return name === null ? null : GroupSnapshot.of(conn, name);
}
