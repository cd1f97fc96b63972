/**
 * vncdisplay and domdisplay: where a running domain's graphical display listens, read
 * from its live XML as virsh 9.0 does (the port QEMU took is in it; see the qemu driver's
 * live-runtime-details.ts), with virsh's output and messages.
 */
import { VirErrorDomain } from '../../api/errors.js';
import type { Domain } from '../../api/domain.js';
import { parseXmlDocument } from '../../conf/xml-parse.js';
import { attrValue, childElement, childElements, type XmlElement } from '../../conf/xml-tree.js';
import type { CommandDef } from '../command-def.js';
import type { Control } from '../control.js';
import { lookupDomain } from '../domain-lookup.js';
import { CommandAborted, optBool, optString } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

const VNC_BASE_PORT = 5900;
/** VIR_DOMAIN_XML_SECURE */
const SECURE = 1;

async function runningGraphics(ctl: Control, dom: Domain, secure: boolean): Promise<XmlElement[]> {
  if (!await dom.isActive()) {
    ctl.error('Domain is not running');
    throw new CommandAborted();
  }
  const root = parseXmlDocument(await dom.getXMLDesc(secure ? SECURE : 0), '(domain_definition)', VirErrorDomain.DOMAIN, 'domain');
  const devices = childElement(root, 'devices');
  return devices ? childElements(devices, 'graphics') : [];
}

/** The listen address: the attribute, else the first `<listen>`'s address. */
function listenOf(g: XmlElement): string | undefined {
  const listen = childElement(g, 'listen');
  return attrValue(g, 'listen') ?? (listen ? attrValue(listen, 'address') : undefined);
}

/** virXPathInt: the attribute as an integer, or undefined when absent or not one. */
function intOf(g: XmlElement, name: string): number | undefined {
  const text = attrValue(g, name);
  return text !== undefined && /^-?[0-9]+$/.test(text) ? Number(text) : undefined;
}

/** `vncdisplay DOMAIN` */
export const vncdisplayCommand: CommandDef = {
  name: 'vncdisplay',
  help: 'vnc display',
  desc: 'Output the IP address and port number for the VNC display.',
  opts: [DOMAIN_OPTION],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const vnc = (await runningGraphics(ctl, dom, false)).find((g) => attrValue(g, 'type') === 'vnc');
    const port = vnc ? intOf(vnc, 'port') : undefined;
    if (!vnc || port === undefined) {
      ctl.error('Failed to get VNC port. Is this domain using VNC?');
      throw new CommandAborted();
    }
    const listen = listenOf(vnc);
    ctl.print(`${listen === undefined || listen === '0.0.0.0' ? '' : listen}:${port - VNC_BASE_PORT}\n`);
    return true;
  },
};

/** `domdisplay DOMAIN [--include-password] [--type TYPE] [--all]` */
export const domdisplayCommand: CommandDef = {
  name: 'domdisplay',
  help: 'domain display connection URI',
  desc: 'Output the IP address and port number for the graphical display.',
  opts: [
    DOMAIN_OPTION,
    { name: 'include-password', type: 'bool', help: 'includes the password into the connection URI if available' },
    { name: 'type', type: 'string', help: 'select particular graphical display (e.g. "vnc", "spice", "rdp", "dbus")' },
    { name: 'all', type: 'bool', help: 'show all possible graphical displays' },
  ],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const type = optString(ctl, cmd, 'type');
    const withPassword = optBool(cmd, 'include-password');
    const graphics = await runningGraphics(ctl, dom, withPassword);
    const uris: string[] = [];
    for (const scheme of ['vnc', 'spice', 'rdp']) {
      if (type !== undefined && type !== scheme) continue;
      const g = graphics.find((e) => attrValue(e, 'type') === scheme);
      if (!g) continue;
      uris.push(displayUri(scheme, g, withPassword));
      if (!optBool(cmd, 'all')) break;
    }
    // virsh 9.0: with --all each URI on a line of its own; without, the URI alone, no
    // newline (the blank line after the command ends it; with -q there is none).
    if (uris.length > 0) ctl.print(optBool(cmd, 'all') ? uris.map((u) => `${u}\n`).join('') : uris[0]!);
    if (uris.length === 0) {
      ctl.error(type !== undefined ? `No graphical display with type '${type}' found` : 'No graphical display found');
      throw new CommandAborted();
    }
    return true;
  },
};

/** virsh's URI of one display: scheme://[:password@]host[:port][?tls-port=N[&password=P]]. */
function displayUri(scheme: string, g: XmlElement, withPassword: boolean): string {
  let port = intOf(g, 'port');
  const tlsPort = intOf(g, 'tlsPort');
  let host = listenOf(g);
  if (host === undefined || host === '0.0.0.0' || host === '::') host = 'localhost';
  const passwd = withPassword ? attrValue(g, 'passwd') : undefined;
  if (scheme === 'vnc' && port !== undefined) port -= VNC_BASE_PORT;
  const params: string[] = [];
  if (scheme === 'spice' && tlsPort !== undefined) params.push(`tls-port=${tlsPort}`);
  if (scheme === 'spice' && passwd !== undefined) params.push(`password=${passwd}`);
  const userinfo = scheme !== 'spice' && passwd !== undefined ? `:${passwd}@` : '';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${userinfo}${hostPart}${port !== undefined ? `:${port}` : ''}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}
