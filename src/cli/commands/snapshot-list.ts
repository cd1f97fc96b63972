/**
 * snapshot-list: a table (Name, Creation Time, State[, Parent]), names only, or a tree;
 * filtered by the VIR_DOMAIN_SNAPSHOT_LIST_* options, from a snapshot's children with
 * --from/--current, sorted by name case-insensitively unless --topological.
 */
import type { DomainSnapshot } from '../../api/domain-snapshot.js';
import { SnapshotListFlags as L } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { compareNamesCaseInsensitive } from '../output/name-order.js';
import { JSON_OPTION, printJson } from '../output/json.js';
import { formatTable } from '../output/table.js';
import { formatLocalTime } from '../output/time-format.js';
import { writeTree } from '../output/tree.js';
import { CommandAborted, exclusiveOptions, optBool } from '../option-values.js';
import { currentOption, DOMAIN_OPTION, lookupSnapshot, snapshotParentName } from './snapshot-common.js';


interface ListedSnapshot { snapshot: DomainSnapshot; name: string; parent: string | undefined }

/** The filters that --tree refuses, with their flags, in virsh's checking order. */
const TREE_EXCLUSIVE_FILTERS: ReadonlyArray<[string, number]> = [
  ['leaves', L.LEAVES], ['no-leaves', L.NO_LEAVES], ['inactive', L.INACTIVE], ['active', L.ACTIVE],
  ['disk-only', L.DISK_ONLY], ['internal', L.INTERNAL], ['external', L.EXTERNAL],
];

/** `snapshot-list DOMAIN [filters] [--parent|--tree|--name] [--from S|--current] [--descendants] [--topological]` */
export const snapshotList: CommandDef = {
  name: 'snapshot-list',
  help: 'List snapshots for a domain',
  desc: 'Snapshot List',
  opts: [
    DOMAIN_OPTION,
    { name: 'parent', type: 'bool', help: 'add a column showing parent snapshot' },
    { name: 'roots', type: 'bool', help: 'list only snapshots without parents' },
    { name: 'leaves', type: 'bool', help: 'list only snapshots without children' },
    { name: 'no-leaves', type: 'bool', help: 'list only snapshots that are not leaves (with children)' },
    { name: 'metadata', type: 'bool', help: 'list only snapshots that have metadata that would prevent undefine' },
    { name: 'no-metadata', type: 'bool', help: 'list only snapshots that have no metadata managed by libvirt' },
    { name: 'inactive', type: 'bool', help: 'filter by snapshots taken while inactive' },
    { name: 'active', type: 'bool', help: 'filter by snapshots taken while active (full system snapshots)' },
    { name: 'disk-only', type: 'bool', help: 'filter by disk-only snapshots' },
    { name: 'internal', type: 'bool', help: 'filter by internal snapshots' },
    { name: 'external', type: 'bool', help: 'filter by external snapshots' },
    { name: 'tree', type: 'bool', help: 'list snapshots in a tree' },
    { name: 'from', type: 'string', help: 'limit list to children of given snapshot' },
    currentOption('limit list to children of current snapshot'),
    { name: 'descendants', type: 'bool', help: 'with --from, list all descendants' },
    { name: 'name', type: 'bool', help: 'list snapshot names only' },
    { name: 'topological', type: 'bool', help: 'sort list topologically rather than by name' },
    JSON_OPTION,
  ],
  async handler(ctl, cmd) {
    const tree = optBool(cmd, 'tree');
    const name = optBool(cmd, 'name');
    const from = optBool(cmd, 'from');
    const parent = optBool(cmd, 'parent');
    const roots = optBool(cmd, 'roots');
    const current = optBool(cmd, 'current');
    exclusiveOptions(ctl, 'tree', tree, 'name', name);
    exclusiveOptions(ctl, 'parent', parent, 'roots', roots);
    exclusiveOptions(ctl, 'parent', parent, 'tree', tree);
    exclusiveOptions(ctl, 'roots', roots, 'tree', tree);
    exclusiveOptions(ctl, 'roots', roots, 'from', from);
    exclusiveOptions(ctl, 'roots', roots, 'current', current);
    let flags = 0;
    for (const [option, bit] of TREE_EXCLUSIVE_FILTERS) {
      if (!optBool(cmd, option)) continue;
      if (tree) {
        ctl.error(`--${option} and --tree are mutually exclusive`);
        throw new CommandAborted();
      }
      flags |= bit;
    }
    const topological = optBool(cmd, 'topological');
    if (topological) flags |= L.TOPOLOGICAL;
    if (roots) flags |= L.ROOTS;
    if (optBool(cmd, 'metadata')) flags |= L.METADATA;
    if (optBool(cmd, 'no-metadata')) flags |= L.NO_METADATA;
    if (optBool(cmd, 'descendants')) {
      if (!from && !current) {
        ctl.error('--descendants requires either --from or --current');
        return false;
      }
      flags |= L.DESCENDANTS;
    }
    const dom = await lookupDomain(ctl, cmd);
    const start = from || current ? await lookupSnapshot(ctl, cmd, 'from', true, dom) : undefined;

    // virshSnapshotListCollect
    const snapshots = start ? await start.listAllChildren(flags) : await dom.listAllSnapshots(flags);
    const listed: ListedSnapshot[] = [];
    for (const snapshot of snapshots) {
      listed.push({ snapshot, name: snapshot.getName(), parent: tree ? await snapshotParentName(ctl, snapshot) : undefined });
    }
    if (tree && start) listed.push({ snapshot: start, name: start.getName(), parent: undefined });
    if (!topological) listed.sort((a, b) => compareNamesCaseInsensitive(a.name, b.name));

    if (optBool(cmd, 'json')) {
      const rows = [];
      for (const entry of listed) {
        const def = await entry.snapshot.getDefinition().catch(() => undefined);
        if (!def) continue; // as the table skips a snapshot whose XML it cannot get
        rows.push({ name: entry.name, parent: def.parent ?? null, state: def.state ?? null, creationTime: def.creationTime ?? null, current: await entry.snapshot.isCurrent() });
      }
      printJson(ctl, rows);
      return true;
    }
    if (tree) {
      const entries = listed.map(({ name: n, parent: p }) => ({ name: n, parent: p }));
      entries.forEach((entry, i) => {
        if (entry.parent === undefined) writeTree(entries, i, (chunk) => ctl.printBytes(chunk));
      });
      return true;
    }
    if (name) {
      for (const entry of listed) ctl.print(`${entry.name}\n`);
      return true;
    }
    const { xpathStrings } = await import('../xml-query.js');
    const rows: string[][] = [];
    for (const entry of listed) {
      let xml: string;
      try {
        xml = await entry.snapshot.getXMLDesc(0);
      } catch {
        continue; // virsh skips a snapshot whose XML it cannot get
      }
      const [parentText, state, creation] = await xpathStrings(xml,
        ['/domainsnapshot/parent/name', '/domainsnapshot/state', '/domainsnapshot/creationTime']);
      const parentName = parent ? parentText ?? '' : undefined;
      if (state === undefined || creation === undefined || !/^-?[0-9]+$/.test(creation.trim())) continue;
      const time = formatLocalTime(Number(creation.trim()));
      rows.push(parentName === undefined ? [entry.name, time, state] : [entry.name, time, state, parentName]);
    }
    const header = parent ? ['Name', 'Creation Time', 'State', 'Parent'] : ['Name', 'Creation Time', 'State'];
    ctl.print(formatTable(header, rows, !ctl.options.quiet));
    return true;
  },
};
