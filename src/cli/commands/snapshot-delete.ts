/** snapshot-delete: delete one snapshot, or with its descendants, or only its descendants. */
import { SnapshotDeleteFlags as D } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { optBool } from '../option-values.js';
import { currentOption, DOMAIN_OPTION, lookupSnapshot } from './snapshot-common.js';

/** `snapshot-delete DOMAIN {SNAPSHOTNAME | --current} [--children | --children-only] [--metadata] [--force]` */
export const snapshotDelete: CommandDef = {
  name: 'snapshot-delete',
  help: 'Delete a domain snapshot',
  desc: 'Snapshot Delete',
  opts: [
    DOMAIN_OPTION,
    { name: 'snapshotname', type: 'string', help: 'snapshot name' },
    currentOption('delete current snapshot'),
    { name: 'children', type: 'bool', help: 'delete snapshot and all children' },
    { name: 'children-only', type: 'bool', help: 'delete children but not snapshot' },
    { name: 'metadata', type: 'bool', help: 'delete only libvirt metadata, leaving snapshot contents behind' },
    // snapvirt's own: virsh has no groups.
    { name: 'force', type: 'bool', help: 'delete a group snapshot\'s member alone (it leaves its group)' },
  ],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const snapshot = await lookupSnapshot(ctl, cmd, 'snapshotname', true, dom);
    const name = snapshot.getName();
    let flags = 0;
    if (optBool(cmd, 'children')) flags |= D.CHILDREN;
    if (optBool(cmd, 'children-only')) flags |= D.CHILDREN_ONLY;
    if (optBool(cmd, 'metadata')) flags |= D.METADATA_ONLY;
    if (optBool(cmd, 'force')) flags |= D.LEAVE_GROUP;
    try {
      await snapshot.delete(flags);
    } catch (err) {
      ctl.error(`Failed to delete snapshot ${name}`);
      throw err;
    }
    if (flags & D.CHILDREN_ONLY) ctl.printExtra(`Domain snapshot ${name} children deleted\n`);
    else ctl.printExtra(`Domain snapshot ${name} deleted\n`);
    return true;
  },
};
