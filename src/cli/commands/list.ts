/**
 * list: the domains as a table (Id, Name, State), or names, UUIDs or ids only; active
 * ones by default, sorted as virshDomainSorter does (running by id, then the rest by name).
 */
import type { Domain } from '../../api/domain.js';
import { domainStateName, domainStateReasonName } from '../../api/domain-state.js';
import { ListDomainsFlags as L } from '../../api/flags.js';
import { JSON_OPTION, printJson } from '../output/json.js';
import type { CommandDef } from '../command-def.js';
import { formatTable } from '../output/table.js';
import { stateName } from '../output/domain-state.js';
import { exclusiveOptionNames, optBool } from '../option-values.js';
import { compareNamesCaseInsensitive } from '../output/name-order.js';

const FILTERS: ReadonlyArray<[string, number]> = [
  ['persistent', L.PERSISTENT], ['transient', L.TRANSIENT],
  ['with-managed-save', L.MANAGEDSAVE], ['without-managed-save', L.NO_MANAGEDSAVE],
  ['autostart', L.AUTOSTART], ['no-autostart', L.NO_AUTOSTART],
  ['with-snapshot', L.HAS_SNAPSHOT], ['without-snapshot', L.NO_SNAPSHOT],
  ['with-checkpoint', L.HAS_CHECKPOINT], ['without-checkpoint', L.NO_CHECKPOINT],
  ['state-running', L.RUNNING], ['state-paused', L.PAUSED], ['state-shutoff', L.SHUTOFF], ['state-other', L.OTHER],
];

function sortDomains(a: Domain, b: Domain): number {
  const ia = a.getID();
  const ib = b.getID();
  if (ia === -1 && ib === -1) return compareNamesCaseInsensitive(a.getName(), b.getName());
  if (ia !== -1 && ib !== -1) return ia - ib;
  return ia !== -1 ? -1 : 1;
}

/** `list [--all] [filters] [--name|--uuid|--id|--table]` */
export const listCommand: CommandDef = {
  name: 'list',
  help: 'list domains',
  desc: 'Returns list of domains.',
  opts: [
    { name: 'inactive', type: 'bool', help: 'list inactive domains' },
    { name: 'all', type: 'bool', help: 'list inactive & active domains' },
    { name: 'transient', type: 'bool', help: 'list transient domains' },
    { name: 'persistent', type: 'bool', help: 'list persistent domains' },
    { name: 'with-snapshot', type: 'bool', help: 'list domains with existing snapshot' },
    { name: 'without-snapshot', type: 'bool', help: 'list domains without a snapshot' },
    { name: 'with-checkpoint', type: 'bool', help: 'list domains with existing checkpoint' },
    { name: 'without-checkpoint', type: 'bool', help: 'list domains without a checkpoint' },
    { name: 'state-running', type: 'bool', help: 'list domains in running state' },
    { name: 'state-paused', type: 'bool', help: 'list domains in paused state' },
    { name: 'state-shutoff', type: 'bool', help: 'list domains in shutoff state' },
    { name: 'state-other', type: 'bool', help: 'list domains in other states' },
    { name: 'autostart', type: 'bool', help: 'list domains with autostart enabled' },
    { name: 'no-autostart', type: 'bool', help: 'list domains with autostart disabled' },
    { name: 'with-managed-save', type: 'bool', help: 'list domains with managed save state' },
    { name: 'without-managed-save', type: 'bool', help: 'list domains without managed save' },
    { name: 'uuid', type: 'bool', help: "list uuid's only" },
    { name: 'name', type: 'bool', help: 'list domain names only' },
    { name: 'id', type: 'bool', help: 'list domain IDs only' },
    { name: 'table', type: 'bool', help: 'list table (default)' },
    { name: 'managed-save', type: 'bool', help: 'mark inactive domains with managed save state' },
    { name: 'title', type: 'bool', help: 'show domain title' },
    JSON_OPTION,
  ],
  async handler(ctl, cmd) {
    exclusiveOptionNames(ctl, cmd, 'table', 'name');
    exclusiveOptionNames(ctl, cmd, 'table', 'uuid');
    exclusiveOptionNames(ctl, cmd, 'table', 'id');
    let flags: number = L.ACTIVE;
    if (optBool(cmd, 'inactive')) flags = L.INACTIVE;
    if (optBool(cmd, 'all')) flags = L.INACTIVE | L.ACTIVE;
    for (const [name, bit] of FILTERS) if (optBool(cmd, name)) flags |= bit;
    const optUuid = optBool(cmd, 'uuid');
    const optName = optBool(cmd, 'name');
    const optId = optBool(cmd, 'id');
    const conn = await ctl.connection();
    const domains = (await conn.listAllDomains(flags)).sort(sortDomains);
    if (optBool(cmd, 'json')) {
      const listed = [];
      for (const dom of domains) {
        const id = dom.getID();
        const { state, reason } = await dom.getState();
        listed.push({
          id: id === -1 ? null : id, name: dom.getName(), uuid: dom.getUUIDString(),
          state: domainStateName(state), reason: domainStateReasonName(state, reason), persistent: await dom.isPersistent(),
        });
      }
      printJson(ctl, listed);
      return true;
    }
    if (optUuid || optName || optId) {
      for (const dom of domains) {
        const id = dom.getID();
        if (optId && !optName && !optUuid && id === -1) continue;
        const parts: string[] = [];
        if (optUuid) parts.push(dom.getUUIDString());
        if (optId) parts.push(id === -1 ? '-' : String(id));
        if (optName) parts.push(dom.getName());
        ctl.print(`${parts.join(' ')}\n`);
      }
      return true;
    }
    const rows: string[][] = [];
    for (const dom of domains) {
      const id = dom.getID();
      const { state } = await dom.getState();
      let stateText = stateName(state);
      if (optBool(cmd, 'managed-save') && id === -1 && (await dom.getExtraInfo()).managedSave) stateText = 'saved';
      const row = [id === -1 ? '-' : String(id), dom.getName(), stateText];
      if (optBool(cmd, 'title')) {
        const { xpathString } = await import('../xml-query.js');
        row.push((await xpathString(await dom.getXMLDesc(0), '/domain/title')) ?? '');
      }
      rows.push(row);
    }
    const header = optBool(cmd, 'title') ? ['Id', 'Name', 'State', 'Title'] : ['Id', 'Name', 'State'];
    ctl.print(formatTable(header, rows, !ctl.options.quiet));
    return true;
  },
};
