/**
 * Group snapshot commands (snapvirt's own, in virsh's style): group-snapshot-create,
 * group-snapshot-list, group-snapshot-info, group-snapshot-dumpxml, group-snapshot-revert, group-snapshot-delete. A group is one
 * snapshot of several domains, made all or nothing; each member is an ordinary snapshot
 * of its domain named as the group.
 */
import { SnapshotCreateFlags as F, SnapshotRevertFlags as R } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomainByText } from '../domain-lookup.js';
import { CommandAborted, optArgv, optBool, optString } from '../option-values.js';
import { escapeXml } from '../output/escape.js';
import { JSON_OPTION, printJson } from '../output/json.js';
import { formatTable } from '../output/table.js';
import { formatLocalTime } from '../output/time-format.js';
import { printXml, XPATH_OPTIONS, xpathOption } from './snapshot-dumpxml.js';

const GROUP_OPTION = { name: 'groupname', type: 'data', required: true, help: 'group snapshot name' } as const;

/** `group-snapshot-create NAME DOMAIN... [--description TEXT] [--disk-only] [--quiesce] [--no-memory]` */
export const groupSnapshotCreate: CommandDef = {
  name: 'group-snapshot-create',
  help: 'Create a group snapshot of several domains',
  desc: 'Snapshot several domains as one: every member gets a snapshot named NAME, or none does.',
  opts: [
    GROUP_OPTION,
    { name: 'domain', type: 'argv', required: true, help: 'the member domains (name, id or uuid)' },
    { name: 'description', type: 'string', namedOnly: true, help: 'description of the group snapshot' },
    { name: 'disk-only', type: 'bool', help: 'disk state only: external overlays on every disk' },
    { name: 'quiesce', type: 'bool', help: 'quiesce the guests\' file systems (requires --disk-only)' },
    { name: 'no-memory', type: 'bool', help: 'running members save no memory state (their snapshots are disk-only)' },
  ],
  async handler(ctl, cmd) {
    const name = optString(ctl, cmd, 'groupname');
    if (name === undefined) throw new CommandAborted();
    const description = optString(ctl, cmd, 'description');
    const doms = [];
    for (const text of optArgv(cmd, 'domain')) doms.push(await lookupDomainByText(ctl, text));
    const xml = `<groupsnapshot>\n  <name>${escapeXml(name)}</name>\n` +
      (description === undefined ? '' : `  <description>${escapeXml(description)}</description>\n`) +
      (optBool(cmd, 'no-memory') ? "  <memory snapshot='no'/>\n" : '') + '</groupsnapshot>\n';
    const flags = (optBool(cmd, 'disk-only') ? F.DISK_ONLY : 0) | (optBool(cmd, 'quiesce') ? F.QUIESCE : 0);
    const conn = await ctl.connection();
    const group = await conn.groupSnapshotCreateXML(doms, xml, flags);
    ctl.print(`Group snapshot ${group.getName()} created\n`);
    return true;
  },
};

/** `group-snapshot-list` */
export const groupSnapshotList: CommandDef = {
  name: 'group-snapshot-list',
  help: 'List group snapshots',
  desc: 'Group snapshot List: name, creation time, state and member domains.',
  opts: [JSON_OPTION],
  async handler(ctl, cmd) {
    const conn = await ctl.connection();
    const infos = await Promise.all((await conn.listAllGroupSnapshots()).map((g) => g.getInfo()));
    if (optBool(cmd, 'json')) {
      printJson(ctl, infos);
      return true;
    }
    const rows = infos.map((g) => [g.name, formatLocalTime(g.creationTime), g.state, g.members.map((m) => m.domainName).join(', ')]);
    ctl.print(formatTable(['Name', 'Creation Time', 'State', 'Members'], rows, !ctl.options.quiet));
    return true;
  },
};

/** `group-snapshot-info NAME` */
export const groupSnapshotInfo: CommandDef = {
  name: 'group-snapshot-info',
  help: 'group snapshot information',
  desc: 'Returns basic information about a group snapshot.',
  opts: [GROUP_OPTION, JSON_OPTION],
  async handler(ctl, cmd) {
    const name = optString(ctl, cmd, 'groupname');
    if (name === undefined) throw new CommandAborted();
    const info = await (await (await ctl.connection()).groupSnapshotLookupByName(name)).getInfo();
    if (optBool(cmd, 'json')) {
      printJson(ctl, info);
      return true;
    }
    const field = (label: string, value: string | number): string => `${label.padEnd(15)} ${value}\n`;
    let out = field('Name:', info.name);
    if (info.description !== null) out += field('Description:', info.description);
    out += field('State:', info.state) + field('Creation Time:', formatLocalTime(info.creationTime)) + field('Members:', info.members.length);
    for (const m of info.members) out += `  ${m.domainName} (${m.domainUuid}): snapshot ${m.snapshotName}\n`;
    ctl.print(out);
    return true;
  },
};

/** `group-snapshot-dumpxml NAME [--xpath EXPR [--wrap]]` */
export const groupSnapshotDumpxml: CommandDef = {
  name: 'group-snapshot-dumpxml',
  help: 'Dump XML for a group snapshot',
  desc: 'Group snapshot Dump XML',
  opts: [GROUP_OPTION, ...XPATH_OPTIONS],
  async handler(ctl, cmd) {
    const name = optString(ctl, cmd, 'groupname');
    if (name === undefined) throw new CommandAborted();
    const xpath = xpathOption(cmd);
    if (xpath === null) return false;
    const group = await (await ctl.connection()).groupSnapshotLookupByName(name);
    return printXml(ctl, await group.getXMLDesc(), xpath, optBool(cmd, 'wrap'));
  },
};

/** `group-snapshot-delete NAME` */
export const groupSnapshotDelete: CommandDef = {
  name: 'group-snapshot-delete',
  help: 'Delete a group snapshot',
  desc: 'Group Snapshot Delete: every member\'s snapshot and the group, or none.',
  opts: [GROUP_OPTION],
  async handler(ctl, cmd) {
    const name = optString(ctl, cmd, 'groupname');
    if (name === undefined) throw new CommandAborted();
    await (await (await ctl.connection()).groupSnapshotLookupByName(name)).delete();
    ctl.print(`Group snapshot ${name} deleted\n`);
    return true;
  },
};

/** `group-snapshot-revert NAME [--running|--paused]` */
export const groupSnapshotRevert: CommandDef = {
  name: 'group-snapshot-revert',
  help: 'Revert several domains to a group snapshot',
  desc: 'Revert every member of a group snapshot to it, or none.',
  opts: [
    GROUP_OPTION,
    { name: 'running', type: 'bool', help: 'after reverting, change state to running' },
    { name: 'paused', type: 'bool', help: 'after reverting, change state to paused' },
  ],
  async handler(ctl, cmd) {
    const name = optString(ctl, cmd, 'groupname');
    if (name === undefined) throw new CommandAborted();
    const flags = (optBool(cmd, 'running') ? R.RUNNING : 0) | (optBool(cmd, 'paused') ? R.PAUSED : 0);
    await (await (await ctl.connection()).groupSnapshotLookupByName(name)).revert(flags);
    return true;
  },
};
