/**
 * domiflist and domif-getlink (tools/virsh-domain-monitor.c, virsh-domain.c): read from the
 * domain's XML, as virsh reads them, so they work on every driver.
 */
import { DomainXMLFlags } from '../../api/flags.js';
import { ensureXmlParser } from '../../conf/xml-parse.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { formatTable } from '../output/table.js';
import { optBool, optString } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

/** One `<interface>` as virsh shows it: a missing value is ''. */
interface InterfaceRow { target: string; type: string; source: string; model: string; mac: string; link: string }

/** The domain's interfaces from `xml`. */
async function interfacesOf(xml: string): Promise<InterfaceRow[]> {
  const { ParseOption, XmlDocument } = await ensureXmlParser();
  const doc = XmlDocument.fromString(xml, { option: ParseOption.XML_PARSE_NOBLANKS });
  try {
    return doc.find('/domain/devices/interface').map((node) => {
      const str = (expr: string): string => {
        const v = node.eval(`string(${expr})`);
        return typeof v === 'string' ? v : '';
      };
      return {
        target: str('./target/@dev'), type: str('./@type'),
        source: str('./source/@bridge|./source/@dev|./source/@network|./source/@name|./source/@path'),
        model: str('./model/@type'), mac: str('./mac/@address'), link: str('./link/@state'),
      };
    });
  } finally {
    doc.dispose();
  }
}

/** `domiflist DOMAIN [--inactive]` */
export const domiflistCommand: CommandDef = {
  name: 'domiflist',
  help: 'list all domain virtual interfaces',
  desc: 'Get the summary of virtual interfaces for a domain.',
  opts: [DOMAIN_OPTION, { name: 'inactive', type: 'bool', help: 'get inactive rather than running configuration' }],
  async handler(ctl, cmd) {
    const flags = optBool(cmd, 'inactive') ? DomainXMLFlags.INACTIVE : 0;
    const dom = await lookupDomain(ctl, cmd);
    const rows = (await interfacesOf(await dom.getXMLDesc(flags)))
      .map((i) => [i.target || '-', i.type, i.source || '-', i.model || '-', i.mac || '-']);
    ctl.print(formatTable(['Interface', 'Type', 'Source', 'Model', 'MAC'], rows, !ctl.options.quiet));
    return true;
  },
};

/** A MAC address as virMacAddrParse reads it (six hex octets), normalised; undefined when `text` is not one. */
function parseMac(text: string): string | undefined {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return parts.map((p) => p.padStart(2, '0').toLowerCase()).join(':');
}

/** `domif-getlink DOMAIN INTERFACE [--config]`: the interface by target device or MAC, and its link state. */
export const domifGetlinkCommand: CommandDef = {
  name: 'domif-getlink',
  help: 'get link state of a virtual interface',
  desc: "Get link state of a domain's virtual interface.",
  opts: [
    DOMAIN_OPTION,
    { name: 'interface', type: 'data', required: true, help: 'interface device (MAC Address)' },
    { name: 'config', type: 'bool', help: 'Get persistent interface state' },
  ],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const iface = optString(ctl, cmd, 'interface') ?? '';
    const flags = optBool(cmd, 'config') ? DomainXMLFlags.INACTIVE : 0;
    const mac = parseMac(iface);
    const found = (await interfacesOf(await dom.getXMLDesc(flags)))
      .find((i) => (mac !== undefined ? parseMac(i.mac) === mac : i.target === iface));
    if (!found) {
      ctl.error(mac !== undefined ? `Interface (mac: ${iface}) not found.` : `Interface (dev: ${iface}) not found.`);
      return false;
    }
    ctl.print(`${iface} ${found.link || 'up'}`); // (virsh prints no newline here)
    return true;
  },
};
