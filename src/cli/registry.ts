/** The command table: snapvirt's commands in virsh's groups and order. */
import type { CommandDef, CommandGroup } from './command-def.js';
import { createCommand, defineCommand } from './commands/define.js';
import { dominfoCommand, domstateCommand } from './commands/domain-info.js';
import {
  destroyCommand, resumeCommand, shutdownCommand, startCommand, suspendCommand, undefineCommand,
} from './commands/domain-lifecycle.js';
import { domblklistCommand } from './commands/domblklist.js';
import { dumpxmlCommand } from './commands/dumpxml.js';
import { hostnameCommand, uriCommand, versionCommand } from './commands/host.js';
import { listCommand } from './commands/list.js';
import { qemuMonitorCommand } from './commands/qemu-monitor-command.js';
import { snapshotCheck } from './commands/snapshot-check.js';
import { snapshotCreate } from './commands/snapshot-create.js';
import { snapshotCreateAs } from './commands/snapshot-create-as.js';
import { snapshotCurrent } from './commands/snapshot-current.js';
import { snapshotDelete } from './commands/snapshot-delete.js';
import { snapshotDumpxml } from './commands/snapshot-dumpxml.js';
import { snapshotEdit } from './commands/snapshot-edit.js';
import { snapshotInfo } from './commands/snapshot-info.js';
import { snapshotList } from './commands/snapshot-list.js';
import { snapshotParent } from './commands/snapshot-parent.js';
import { snapshotRevert } from './commands/snapshot-revert.js';
import {
  cdCommand, connectCommand, echoCommand, exit, helpCommand, pwdCommand, quit,
} from './commands/virsh-itself.js';

/** The groups `help` lists, each in virsh 9.0's order. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  {
    name: 'Domain Management', keyword: 'domain',
    commands: [createCommand, defineCommand, destroyCommand, dumpxmlCommand, qemuMonitorCommand,
      resumeCommand, shutdownCommand, startCommand, suspendCommand, undefineCommand],
  },
  {
    name: 'Domain Monitoring', keyword: 'monitor',
    commands: [domblklistCommand, dominfoCommand, domstateCommand, listCommand],
  },
  { name: 'Host and Hypervisor', keyword: 'host', commands: [hostnameCommand, uriCommand, versionCommand] },
  {
    name: 'Snapshot', keyword: 'snapshot',
    commands: [snapshotCreate, snapshotCreateAs, snapshotCurrent, snapshotDelete, snapshotDumpxml,
      snapshotEdit, snapshotInfo, snapshotList, snapshotParent, snapshotRevert],
  },
  // snapvirt's own commands, in a group of their own so virsh's groups stay exactly virsh's.
  { name: 'Snapshot checks (snapvirt)', keyword: 'snapvirt', commands: [snapshotCheck] },
  {
    name: 'Virsh itself', keyword: 'virsh',
    commands: [cdCommand, echoCommand, exit, helpCommand, pwdCommand, quit, connectCommand],
  },
];

const BY_NAME = new Map<string, CommandDef>(COMMAND_GROUPS.flatMap((g) => g.commands.map((c) => [c.name, c] as const)));

/** The command called `name`, if snapvirt has it. */
export function findCommand(name: string): CommandDef | undefined {
  return BY_NAME.get(name);
}

/** Every command name, in help order (for completion). */
export function commandNames(): string[] {
  return [...BY_NAME.keys()];
}
