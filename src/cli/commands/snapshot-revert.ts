/**
 * snapshot-revert: revert the domain to a snapshot. With --force, virsh first tries
 * without FORCE and adds it only when the error says the revert is risky.
 */
import { isVirError, VirErrorCode } from '../../api/errors.js';
import { SnapshotRevertFlags as R } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { optBool } from '../option-values.js';
import { currentOption, DOMAIN_OPTION, lookupSnapshot } from './snapshot-common.js';

/** `snapshot-revert DOMAIN {SNAPSHOTNAME | --current} [--running|--paused] [--force] [--reset-nvram]` */
export const snapshotRevert: CommandDef = {
  name: 'snapshot-revert',
  help: 'Revert a domain to a snapshot',
  desc: 'Revert domain to snapshot',
  opts: [
    DOMAIN_OPTION,
    { name: 'snapshotname', type: 'string', help: 'snapshot name' },
    currentOption('revert to current snapshot'),
    { name: 'running', type: 'bool', help: 'after reverting, change state to running' },
    { name: 'paused', type: 'bool', help: 'after reverting, change state to paused' },
    { name: 'force', type: 'bool', help: 'try harder on risky reverts' },
    { name: 'reset-nvram', type: 'bool', help: 're-initialize NVRAM from its pristine template' },
  ],
  async handler(ctl, cmd) {
    let flags = 0;
    if (optBool(cmd, 'running')) flags |= R.RUNNING;
    if (optBool(cmd, 'paused')) flags |= R.PAUSED;
    if (optBool(cmd, 'reset-nvram')) flags |= R.RESET_NVRAM;
    const force = optBool(cmd, 'force');
    const dom = await lookupDomain(ctl, cmd);
    const snapshot = await lookupSnapshot(ctl, cmd, 'snapshotname', true, dom);
    const name = snapshot.getName();
    try {
      try {
        await snapshot.revert(flags);
      } catch (err) {
        if (!(force && isVirError(err, VirErrorCode.SNAPSHOT_REVERT_RISKY))) throw err;
        await snapshot.revert(flags | R.FORCE);
      }
    } catch (err) {
      ctl.error(`Failed to revert snapshot ${name}`);
      throw err;
    }
    ctl.printExtra(`Domain snapshot ${name} reverted\n`);
    return true;
  },
};
