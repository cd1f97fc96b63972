/**
 * The command table: snapvirt's commands in virsh's groups and order. Each command's
 * module is imported only when a command line names it (or when help lists them all):
 * importing every command module and what they use costs more start-up time than
 * a command like `version` needs in total.
 */
import type { CommandDef, CommandGroup } from './command-def.js';
import type { TokenSource } from './command-line.js';

type CommandLoader = () => Promise<CommandDef>;

/** Every command: its name and how to import its definition. */
const LOADERS: Readonly<Record<string, CommandLoader>> = {
  blockcommit: async () => (await import('./commands/block-jobs.js')).blockcommitCommand,
  blockjob: async () => (await import('./commands/block-jobs.js')).blockjobCommand,
  blockpull: async () => (await import('./commands/block-jobs.js')).blockpullCommand,
  domblkinfo: async () => (await import('./commands/domblkinfo.js')).domblkinfoCommand,
  autostart: async () => (await import('./commands/domain-power.js')).autostartCommand,
  domrename: async () => (await import('./commands/domain-power.js')).domrenameCommand,
  edit: async () => (await import('./commands/domain-edit.js')).editCommand,
  reboot: async () => (await import('./commands/domain-power.js')).rebootCommand,
  reset: async () => (await import('./commands/domain-power.js')).resetCommand,
  domiflist: async () => (await import('./commands/domiflist.js')).domiflistCommand,
  'domif-getlink': async () => (await import('./commands/domiflist.js')).domifGetlinkCommand,
  console: async () => (await import('./commands/console.js')).consoleCommand,
  create: async () => (await import('./commands/define.js')).createCommand,
  define: async () => (await import('./commands/define.js')).defineCommand,
  destroy: async () => (await import('./commands/domain-lifecycle.js')).destroyCommand,
  dumpxml: async () => (await import('./commands/dumpxml.js')).dumpxmlCommand,
  'qemu-monitor-command': async () => (await import('./commands/qemu-monitor-command.js')).qemuMonitorCommand,
  resume: async () => (await import('./commands/domain-lifecycle.js')).resumeCommand,
  shutdown: async () => (await import('./commands/domain-lifecycle.js')).shutdownCommand,
  start: async () => (await import('./commands/domain-lifecycle.js')).startCommand,
  suspend: async () => (await import('./commands/domain-lifecycle.js')).suspendCommand,
  undefine: async () => (await import('./commands/domain-lifecycle.js')).undefineCommand,
  domjobabort: async () => (await import('./commands/domjob.js')).domjobabortCommand,
  domjobinfo: async () => (await import('./commands/domjob.js')).domjobinfoCommand,
  domdisplay: async () => (await import('./commands/display.js')).domdisplayCommand,
  vncdisplay: async () => (await import('./commands/display.js')).vncdisplayCommand,
  domblklist: async () => (await import('./commands/domblklist.js')).domblklistCommand,
  dominfo: async () => (await import('./commands/domain-info.js')).dominfoCommand,
  domstate: async () => (await import('./commands/domain-info.js')).domstateCommand,
  list: async () => (await import('./commands/list.js')).listCommand,
  hostname: async () => (await import('./commands/host.js')).hostnameCommand,
  uri: async () => (await import('./commands/host.js')).uriCommand,
  version: async () => (await import('./commands/host.js')).versionCommand,
  'snapshot-create': async () => (await import('./commands/snapshot-create.js')).snapshotCreate,
  'snapshot-create-as': async () => (await import('./commands/snapshot-create-as.js')).snapshotCreateAs,
  'snapshot-current': async () => (await import('./commands/snapshot-current.js')).snapshotCurrent,
  'snapshot-delete': async () => (await import('./commands/snapshot-delete.js')).snapshotDelete,
  'snapshot-dumpxml': async () => (await import('./commands/snapshot-dumpxml.js')).snapshotDumpxml,
  'snapshot-edit': async () => (await import('./commands/snapshot-edit.js')).snapshotEdit,
  'snapshot-info': async () => (await import('./commands/snapshot-info.js')).snapshotInfo,
  'snapshot-list': async () => (await import('./commands/snapshot-list.js')).snapshotList,
  'snapshot-parent': async () => (await import('./commands/snapshot-parent.js')).snapshotParent,
  'snapshot-revert': async () => (await import('./commands/snapshot-revert.js')).snapshotRevert,
  'snapshot-check': async () => (await import('./commands/snapshot-check.js')).snapshotCheck,
  'import-libvirt': async () => (await import('./commands/import-libvirt.js')).importLibvirtCommand,
  'group-snapshot-create': async () => (await import('./commands/group-snapshot.js')).groupSnapshotCreate,
  'group-snapshot-delete': async () => (await import('./commands/group-snapshot.js')).groupSnapshotDelete,
  'group-snapshot-dumpxml': async () => (await import('./commands/group-snapshot.js')).groupSnapshotDumpxml,
  'group-snapshot-info': async () => (await import('./commands/group-snapshot.js')).groupSnapshotInfo,
  'group-snapshot-list': async () => (await import('./commands/group-snapshot.js')).groupSnapshotList,
  'group-snapshot-revert': async () => (await import('./commands/group-snapshot.js')).groupSnapshotRevert,
  cd: async () => (await import('./commands/virsh-itself.js')).cdCommand,
  echo: async () => (await import('./commands/virsh-itself.js')).echoCommand,
  exit: async () => (await import('./commands/virsh-itself.js')).exit,
  help: async () => (await import('./commands/virsh-itself.js')).helpCommand,
  pwd: async () => (await import('./commands/virsh-itself.js')).pwdCommand,
  quit: async () => (await import('./commands/virsh-itself.js')).quit,
  connect: async () => (await import('./commands/virsh-itself.js')).connectCommand,
};

/** The groups `help` lists, each in virsh 9.0's order (command names). */
const GROUPS: ReadonlyArray<{ name: string; keyword: string; commands: readonly string[] }> = [
  {
    name: 'Domain Management', keyword: 'domain',
    commands: ['autostart', 'blockcommit', 'blockjob', 'blockpull', 'console', 'create', 'define', 'destroy', 'domdisplay', 'domjobabort',
      'domjobinfo', 'domrename', 'dumpxml', 'edit', 'qemu-monitor-command', 'reboot', 'reset', 'resume', 'shutdown', 'start', 'suspend',
      'undefine', 'vncdisplay'],
  },
  { name: 'Domain Monitoring', keyword: 'monitor', commands: ['domblkinfo', 'domblklist', 'domif-getlink', 'domiflist', 'dominfo', 'domstate', 'list'] },
  { name: 'Host and Hypervisor', keyword: 'host', commands: ['hostname', 'uri', 'version'] },
  {
    name: 'Snapshot', keyword: 'snapshot',
    commands: ['snapshot-create', 'snapshot-create-as', 'snapshot-current', 'snapshot-delete', 'snapshot-dumpxml',
      'snapshot-edit', 'snapshot-info', 'snapshot-list', 'snapshot-parent', 'snapshot-revert'],
  },
  // snapvirt's own commands, in a group of their own so virsh's groups stay exactly virsh's.
  { name: 'Snapshot checks (snapvirt)', keyword: 'snapvirt', commands: ['snapshot-check'] },
  { name: 'Migration from libvirt (snapvirt)', keyword: 'import', commands: ['import-libvirt'] },
  {
    name: 'Group snapshots (snapvirt)', keyword: 'group',
    commands: ['group-snapshot-create', 'group-snapshot-delete', 'group-snapshot-dumpxml', 'group-snapshot-info', 'group-snapshot-list',
      'group-snapshot-revert'],
  },
  { name: 'Virsh itself', keyword: 'virsh', commands: ['cd', 'echo', 'exit', 'help', 'pwd', 'quit', 'connect'] },
];

const loaded = new Map<string, CommandDef>();

/** Imports the definitions of those of `names` that are commands (other names are ignored). */
export async function loadCommands(names: Iterable<string>): Promise<void> {
  const wanted = [...new Set(names)].filter((name) => Object.hasOwn(LOADERS, name) && !loaded.has(name));
  const defs = await Promise.all(wanted.map((name) => LOADERS[name]()));
  wanted.forEach((name, i) => loaded.set(name, defs[i]));
}

/** Imports every command and returns the groups `help` lists, with their definitions. */
export async function loadAllCommands(): Promise<readonly CommandGroup[]> {
  await loadCommands(Object.keys(LOADERS));
  return GROUPS.map((g) => ({ name: g.name, keyword: g.keyword, commands: g.commands.map((name) => loaded.get(name)!) }));
}

/**
 * Imports every command a command line may name: each argument that is a command name
 * (a superset of the commands it holds, which is harmless), and `help` when an option
 * could be `--help` (which runs help on the command). Reads `source` to its end, so the
 * caller parses from a fresh one.
 */
export async function loadCommandsNamedIn(source: TokenSource): Promise<void> {
  const names: string[] = [];
  for (let token = source.next(); token.kind !== 'end' && token.kind !== 'error'; token = source.next()) {
    if (token.kind !== 'arg') continue;
    if (token.value.startsWith('--help')) names.push('help');
    else names.push(token.value);
  }
  await loadCommands(names);
}

/** The command called `name`, if snapvirt has it and it has been loaded (loadCommands). */
export function findCommand(name: string): CommandDef | undefined {
  return loaded.get(name);
}

/** Every command name, in help order (for completion). */
export function commandNames(): string[] {
  return GROUPS.flatMap((g) => g.commands);
}
