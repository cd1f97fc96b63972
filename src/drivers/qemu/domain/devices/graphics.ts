/**
 * `<graphics type='vnc'>` as libvirt maps it: `-vnc ADDRESS:DISPLAY` where DISPLAY is
 * port − 5900; listen from the `listen` attribute or `<listen type='address'>` (default
 * 127.0.0.1, libvirt's vnc_listen), `<listen type='none'>` → `-vnc none`. autoport (or
 * port −1) lets QEMU take the first free display from 5900 up (libvirt picks the port
 * itself; `query-vnc` tells which). A password is set over QMP after start
 * (`set_password`), never put on the command line. Other graphics types are refused.
 */
import { attrValue, childElement, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import type { DeviceContext } from './device-context.js';
import { escapeOpt, intAttr, notHonoured, refuseOtherAttributes, refuseOtherChildren, unsupportedConfig } from './qemu-option.js';

const VNC_BASE_PORT = 5900;
const MAX_DISPLAY = 65535 - VNC_BASE_PORT;

/** Adds the domain's graphics; returns true when there is a display (then -display none is not wanted). */
export function addGraphics(ctx: DeviceContext, devices: XmlElement | undefined): boolean {
  const all = devices ? childElements(devices, 'graphics') : [];
  if (all.length === 0) return false;
  for (const g of all) if (attrValue(g, 'type') !== 'vnc') throw notHonoured(g);
  if (all.length > 1) throw unsupportedConfig('only 1 graphics device of each type (sdl, vnc, spice, dbus) is supported');
  addVnc(ctx, all[0]!);
  return true;
}

function addVnc(ctx: DeviceContext, g: XmlElement): void {
  refuseOtherAttributes(g, ['type', 'port', 'autoport', 'listen', 'passwd', 'sharePolicy', 'connected']);
  refuseOtherChildren(g, ['listen']);
  const listenElement = childElement(g, 'listen');
  if (listenElement) refuseOtherAttributes(listenElement, ['type', 'address']);
  const listenType = listenElement ? attrValue(listenElement, 'type') : 'address';
  if (listenType === 'none') {
    ctx.args.push('-vnc', 'none');
    setPassword(ctx, g);
    return;
  }
  if (listenType !== 'address') throw unsupportedConfig(`<listen type='${listenType ?? ''}'> of <graphics type='vnc'> is not supported by snapvirt`);
  const address = (listenElement && attrValue(listenElement, 'address')) ?? attrValue(g, 'listen') ?? '127.0.0.1';
  const port = intAttrSigned(g, 'port');
  const autoport = attrValue(g, 'autoport') === 'yes' || port === undefined || port === -1;
  let display: string;
  if (autoport) {
    display = `0,to=${MAX_DISPLAY}`;
  } else {
    if (port! < VNC_BASE_PORT || port! > 65535) throw unsupportedConfig(`VNC port ${port!} is out of range (5900-65535)`);
    display = String(port! - VNC_BASE_PORT);
  }
  // An IPv6 address needs brackets in QEMU's host:display syntax.
  const host = address.includes(':') ? `[${address}]` : address;
  const share = attrValue(g, 'sharePolicy');
  const shareOpt = share === undefined ? '' : `,share=${share === 'allow-exclusive' ? 'allow-exclusive' : share === 'force-shared' ? 'force-shared' : 'ignore'}`;
  const passwd = attrValue(g, 'passwd');
  ctx.args.push('-vnc', `${escapeOpt(host)}:${display}${passwd !== undefined ? ',password=on' : ''}${shareOpt}`);
  setPassword(ctx, g);
}

function setPassword(ctx: DeviceContext, g: XmlElement): void {
  const passwd = attrValue(g, 'passwd');
  if (passwd !== undefined) ctx.monitorSetup.push({ execute: 'set_password', arguments: { protocol: 'vnc', password: passwd } });
}

/** `port` may be -1 (libvirt's "pick one"). */
function intAttrSigned(el: XmlElement, name: string): number | undefined {
  return attrValue(el, name) === '-1' ? -1 : intAttr(el, name);
}
