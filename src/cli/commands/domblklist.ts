/** domblklist: the domain's disks as a table of target and source (and type and device with --details). */
import { DomainXMLFlags } from '../../api/flags.js';
import { ensureXmlParser } from '../../conf/xml-parse.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { formatTable } from '../output/table.js';
import { optBool } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

/** `domblklist DOMAIN [--inactive] [--details]` */
export const domblklistCommand: CommandDef = {
  name: 'domblklist',
  help: 'list all domain blocks',
  desc: 'Get the summary of block devices for a domain.',
  opts: [
    DOMAIN_OPTION,
    { name: 'inactive', type: 'bool', help: 'get inactive rather than running configuration' },
    { name: 'details', type: 'bool', help: 'additionally display the type and device value' },
  ],
  async handler(ctl, cmd) {
    const details = optBool(cmd, 'details');
    const flags = optBool(cmd, 'inactive') ? DomainXMLFlags.INACTIVE : 0;
    const dom = await lookupDomain(ctl, cmd);
    const xml = await dom.getXMLDesc(flags);
    const { ParseOption, XmlDocument } = await ensureXmlParser();
    const doc = XmlDocument.fromString(xml, { option: ParseOption.XML_PARSE_NOBLANKS });
    try {
      const rows: string[][] = [];
      for (const disk of doc.find('/domain/devices/disk')) {
        const str = (expr: string): string => {
          const v = disk.eval(`string(${expr})`);
          return typeof v === 'string' ? v : '';
        };
        const target = str('./target/@dev');
        if (target === '') {
          ctl.error('unable to query block list');
          return false;
        }
        const source = str('./source/@file|./source/@dev|./source/@dir|./source/@name|./source/@volume') || '-';
        rows.push(details ? [str('./@type'), str('./@device'), target, source] : [target, source]);
      }
      const header = details ? ['Type', 'Device', 'Target', 'Source'] : ['Target', 'Source'];
      ctl.print(formatTable(header, rows, !ctl.options.quiet));
      return true;
    } finally {
      doc.dispose();
    }
  },
};
