/**
 * What libvirt's live XML shows that only the running QEMU knows: the VNC port an
 * autoport display got (`<graphics port='5900'>`) and the pty of each pty serial port or
 * console (`<source path='/dev/pts/N'/>`, a console's `tty`). Asked from QEMU
 * (query-vnc, query-chardev) when a running domain's XML is formatted, so it is true
 * after every start, create and revert; a domain with neither costs nothing.
 */
import type { DomainDef } from '../../../conf/domain-types.js';
import { cloneDomainDef } from '../../../conf/domain-xml.js';
import { attrValue, childElement, childElements, makeElement, setAttr, type XmlElement } from '../../../conf/xml-tree.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import { charDeviceAliases } from './devices/chardev-aliases.js';

/** `def` with the running QEMU's VNC port and ptys filled in (a copy; `def` is left alone). */
export async function withRuntimeDetails(def: DomainDef, runtimeDir: string): Promise<DomainDef> {
  const devices = childElement(def.element, 'devices');
  if (!devices) return def;
  const vnc = childElements(devices, 'graphics').some((g) => attrValue(g, 'type') === 'vnc');
  const pty = [...childElements(devices, 'serial'), ...childElements(devices, 'console')].some((c) => (attrValue(c, 'type') ?? 'pty') === 'pty');
  if (!vnc && !pty) return def;
  const { vncPort, chardevs } = await withMonitor(runtimeDir, async (qmp) => ({
    vncPort: vnc ? Number((await qmp.execute('query-vnc') as { service?: string }).service) : undefined,
    chardevs: pty ? await qmp.execute('query-chardev') as { label: string; filename: string }[] : [],
  }));
  const live = cloneDomainDef(def);
  const liveDevices = childElement(live.element, 'devices')!;
  const graphics = childElements(liveDevices, 'graphics').find((g) => attrValue(g, 'type') === 'vnc');
  if (graphics && vncPort !== undefined && Number.isSafeInteger(vncPort)) setAttr(graphics, 'port', String(vncPort));
  const ptyOf = new Map(chardevs.filter((c) => c.filename.startsWith('pty:')).map((c) => [c.label, c.filename.slice(4)]));
  const aliases = charDeviceAliases(live);
  const elements = [...childElements(liveDevices, 'console'), ...childElements(liveDevices, 'serial')];
  aliases.forEach((alias, i) => {
    const path = ptyOf.get(alias.chardev);
    const el = elements[i];
    if (path === undefined || !el || (attrValue(el, 'type') ?? 'pty') !== 'pty') return;
    setSourcePath(el, path);
    if (el.name === 'console') setAttr(el, 'tty', path);
  });
  return live;
}

/** libvirt prints a pty's `<source path>` first inside the device. */
function setSourcePath(el: XmlElement, path: string): void {
  const source = childElement(el, 'source');
  if (source) setAttr(source, 'path', path);
  else el.children.unshift(makeElement('source', [['path', path]]));
}
