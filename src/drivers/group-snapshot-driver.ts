/**
 * Group snapshots in the driver table: snapvirt's own functions (libvirt has none), kept
 * as one optional part of a driver so a driver without them says so (VIR_ERR_NO_SUPPORT
 * from the API) instead of doing nothing. Groups are found by name; domains travel as
 * DomainRef like everywhere else.
 */
import type { GroupSnapshotDescription } from '../conf/groupsnapshot-xml.js';
import type { DomainRef } from './driver.js';

/** One member of a group: its domain and that domain's snapshot. */
export interface GroupMemberRef {
  readonly domain: DomainRef;
  readonly snapshotName: string;
}

/** The group snapshot functions of a driver. */
export interface GroupSnapshotDriver {
  /** Creates a group snapshot of `doms` from a `<groupsnapshot>` document, all or nothing; returns its name. */
  create(doms: readonly DomainRef[], xml: string, flags: number): Promise<string>;
  /** Reverts every member to its snapshot of the group, all or nothing. */
  revert(name: string, flags: number): Promise<void>;
  /** Deletes the group and every member's snapshot, all or nothing. */
  delete(name: string, flags: number): Promise<void>;
  /** The names of every group, oldest first. */
  listNames(): Promise<string[]>;
  /** The group's name if it exists (VIR_ERR_NO_DOMAIN_SNAPSHOT otherwise). */
  lookup(name: string): Promise<string>;
  /** The group's members, in canonical (UUID) order. */
  members(name: string): Promise<GroupMemberRef[]>;
  /** What the group's `<groupsnapshot>` document says, as data. */
  describe(name: string): Promise<GroupSnapshotDescription>;
  /** The group's `<groupsnapshot>` document. */
  getXMLDesc(name: string): Promise<string>;
  /** The group a domain's snapshot belongs to, or null. */
  groupOf(dom: DomainRef, snapshotName: string): Promise<string | null>;
}
