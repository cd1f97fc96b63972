/** snapshot-dumpxml: print a snapshot's XML, or the nodes an XPath selects. */
import { SnapshotXMLFlags } from '../../api/flags.js';
import type { CommandDef, ParsedCommand } from '../command-def.js';
import type { Control } from '../control.js';
import { lookupDomain } from '../domain-lookup.js';
import { optBool, optString, optStringQuiet } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

/** virshDumpXML: the whole document, or the XPath selection (libxml2 loaded only then). */
export async function printXml(ctl: Control, xml: string, xpath: string | undefined, wrap: boolean): Promise<boolean> {
  if (xpath === undefined) {
    ctl.print(xml);
    return true;
  }
  const { dumpXPath } = await import('../xml-query.js');
  const dump = await dumpXPath(xml, xpath, wrap);
  if (dump.stderr) ctl.io.err(dump.stderr);
  ctl.print(dump.stdout);
  return true;
}

/**
 * The --xpath value; null when it was given empty, which virsh treats as a silent
 * failure (vshCommandOptStringQuiet returns -1 and nothing is reported).
 */
export function xpathOption(cmd: ParsedCommand): string | undefined | null {
  const given = cmd.opts.find((o) => o.def.name === 'xpath');
  if (given && given.data === '') return null;
  return optStringQuiet(cmd, 'xpath');
}

/** The --xpath and --wrap options dumpxml and snapshot-dumpxml share. */
export const XPATH_OPTIONS = [
  { name: 'xpath', type: 'string', namedOnly: true, help: 'xpath expression to filter the XML document' },
  { name: 'wrap', type: 'bool', help: 'wrap xpath results in an common root element' },
] as const;

/** `snapshot-dumpxml DOMAIN SNAPSHOTNAME [--security-info] [--xpath EXPR [--wrap]]` */
export const snapshotDumpxml: CommandDef = {
  name: 'snapshot-dumpxml',
  help: 'Dump XML for a domain snapshot',
  desc: 'Snapshot Dump XML',
  opts: [
    DOMAIN_OPTION,
    { name: 'snapshotname', type: 'data', required: true, help: 'snapshot name' },
    { name: 'security-info', type: 'bool', help: 'include security sensitive information in XML dump' },
    ...XPATH_OPTIONS,
  ],
  async handler(ctl, cmd) {
    const flags = optBool(cmd, 'security-info') ? SnapshotXMLFlags.SECURE : 0;
    const wrap = optBool(cmd, 'wrap');
    const name = optString(ctl, cmd, 'snapshotname') ?? '';
    const xpath = xpathOption(cmd);
    if (xpath === null) return false;
    const dom = await lookupDomain(ctl, cmd);
    const snapshot = await dom.snapshotLookupByName(name);
    return printXml(ctl, await snapshot.getXMLDesc(flags), xpath, wrap);
  },
};
