/** domblkinfo: a disk's capacity, allocation and physical size (virDomainGetBlockInfo), as virsh prints them. */
import type { BlockInfo } from '../../drivers/block-driver.js';
import { parseDomainDefinition } from '../../api/domain-definition.js';
import { DomainXMLFlags } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { formatTable } from '../output/table.js';
import { optBool, optString } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** vshPrettyCapacity: the value in the largest binary unit below 1024 of it, three decimals. */
function pretty(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++; }
  return `${value.toFixed(3)} ${UNITS[unit]}`;
}

function lines(info: BlockInfo, human: boolean): string {
  const v = (n: number): string => (human ? pretty(n) : String(n));
  return `${'Capacity:'.padEnd(16)}${v(info.capacity)}\n${'Allocation:'.padEnd(16)}${v(info.allocation)}\n${'Physical:'.padEnd(16)}${v(info.physical)}\n`;
}

/** `domblkinfo DOMAIN [--device DEV] [--human] [--all]` */
export const domblkinfoCommand: CommandDef = {
  name: 'domblkinfo',
  help: 'domain block device size information',
  desc: 'Get block device size info for a domain.',
  opts: [
    DOMAIN_OPTION,
    { name: 'device', type: 'string', help: 'block device' },
    { name: 'human', type: 'bool', help: 'Human readable output' },
    { name: 'all', type: 'bool', help: 'display all block devices info' },
  ],
  async handler(ctl, cmd) {
    const human = optBool(cmd, 'human');
    const device = optString(ctl, cmd, 'device');
    const dom = await lookupDomain(ctl, cmd);
    if (!optBool(cmd, 'all')) {
      if (device === undefined) {
        ctl.error("command 'domblkinfo' requires <device> option");
        return false;
      }
      ctl.print(lines(await dom.getBlockInfo(device), human));
      return true;
    }
    const active = await dom.isActive();
    const def = await parseDomainDefinition(await dom.getXMLDesc(active ? 0 : DomainXMLFlags.INACTIVE));
    const rows: string[][] = [];
    for (const disk of def.disks) {
      // A disk without a source (an empty CD-ROM) shows '-', as virsh does.
      if (disk.source === undefined) { rows.push([disk.target, '-', '-', '-']); continue; }
      const info = await dom.getBlockInfo(disk.target);
      const v = (n: number): string => (human ? pretty(n) : String(n));
      rows.push([disk.target, v(info.capacity), v(info.allocation), v(info.physical)]);
    }
    ctl.print(formatTable(['Target', 'Capacity', 'Allocation', 'Physical'], rows, true));
    return true;
  },
};
