/** snapshot-parent: print the name of a snapshot's parent. */
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { currentOption, DOMAIN_OPTION, lookupSnapshot, snapshotParentName } from './snapshot-common.js';

/** `snapshot-parent DOMAIN {SNAPSHOTNAME | --current}` */
export const snapshotParent: CommandDef = {
  name: 'snapshot-parent',
  help: 'Get the name of the parent of a snapshot',
  desc: "Extract the snapshot's parent, if any",
  opts: [
    DOMAIN_OPTION,
    { name: 'snapshotname', type: 'string', help: 'find parent of snapshot name' },
    currentOption('find parent of current snapshot'),
  ],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const snapshot = await lookupSnapshot(ctl, cmd, 'snapshotname', true, dom);
    const parent = await snapshotParentName(ctl, snapshot);
    if (parent === undefined) {
      ctl.error(`snapshot '${snapshot.getName()}' has no parent`);
      return false;
    }
    ctl.print(parent);
    return true;
  },
};
