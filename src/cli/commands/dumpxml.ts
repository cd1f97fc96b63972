/** dumpxml: a domain's XML, or the nodes an XPath selects. */
import { DomainXMLFlags as X } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { optBool } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';
import { printXml, xpathOption, XPATH_OPTIONS } from './snapshot-dumpxml.js';

/** `dumpxml DOMAIN [--inactive] [--security-info] [--xpath EXPR [--wrap]]` */
export const dumpxmlCommand: CommandDef = {
  name: 'dumpxml',
  help: 'domain information in XML',
  desc: 'Output the domain information as an XML dump to stdout.',
  opts: [
    DOMAIN_OPTION,
    { name: 'inactive', type: 'bool', help: 'show inactive defined XML' },
    { name: 'security-info', type: 'bool', help: 'include security sensitive information in XML dump' },
    { name: 'update-cpu', type: 'bool', help: 'update guest CPU according to host CPU' },
    { name: 'migratable', type: 'bool', help: 'provide XML suitable for migrations' },
    ...XPATH_OPTIONS,
  ],
  async handler(ctl, cmd) {
    let flags = 0;
    if (optBool(cmd, 'inactive')) flags |= X.INACTIVE;
    if (optBool(cmd, 'security-info')) flags |= X.SECURE;
    if (optBool(cmd, 'update-cpu')) flags |= X.UPDATE_CPU;
    if (optBool(cmd, 'migratable')) flags |= X.MIGRATABLE;
    const wrap = optBool(cmd, 'wrap');
    const xpath = xpathOption(cmd);
    if (xpath === null) return false;
    const dom = await lookupDomain(ctl, cmd);
    return printXml(ctl, await dom.getXMLDesc(flags), xpath, wrap);
  },
};
