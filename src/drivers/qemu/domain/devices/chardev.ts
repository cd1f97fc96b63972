/**
 * Character devices as libvirt maps them: each `<serial>` is a `-chardev` (charserialN)
 * on an isa-serial (or pci-serial) port N; a `<console>` of target type serial is the
 * serial port of its number (libvirt's alias of serial0) or, without one, a serial port
 * of its own; a virtio `<console>` is a virtconsole on virtio-serial0; the guest agent
 * `<channel>` a virtserialport on a socket in the runtime directory. Backends: pty,
 * unix (bind: QEMU listens; connect: QEMU connects), tcp, file, null.
 */
import { attrValue, childElement, childElements, type XmlElement } from '../../../../conf/xml-tree.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { GUEST_AGENT_CHANNEL } from '../domain-extras.js';
import { addVirtioSerial } from './controllers.js';
import { type DeviceContext, hasDevice, pushDevice } from './device-context.js';
import { pciPlacement } from './pci-address.js';
import { elementLabel, escapeOpt, intAttr, notHonoured, refuseOtherChildren, unsupportedConfig } from './qemu-option.js';

const CHAR_CHILDREN = ['source', 'target', 'protocol', 'alias', 'address'];

/** Adds serial ports, consoles and channels; `agentSocketPath` is where QEMU serves the guest agent channel. */
export function addCharDevices(ctx: DeviceContext, devices: XmlElement | undefined, agentSocketPath: string | undefined): void {
  if (!devices) return;
  const serialPorts = new Set<number>();
  childElements(devices, 'serial').forEach((serial, i) => {
    const port = targetPort(serial) ?? i;
    if (serialPorts.has(port)) throw unsupportedConfig(`two <serial> devices on port ${port}`);
    serialPorts.add(port);
    addSerialPort(ctx, serial, port);
  });
  childElements(devices, 'console').forEach((console, i) => {
    refuseOtherChildren(console, CHAR_CHILDREN);
    const target = childElement(console, 'target');
    const targetType = (target && attrValue(target, 'type')) ?? 'serial';
    if (targetType === 'serial') {
      const port = targetPort(console) ?? 0;
      if (serialPorts.has(port)) return; // libvirt: the console is that serial port
      serialPorts.add(port);
      addSerialPort(ctx, console, port);
    } else if (targetType === 'virtio') {
      addVirtioSerial(ctx);
      ctx.args.push('-chardev', chardevArg(console, `charconsole${i}`));
      pushDevice(ctx, { driver: 'virtconsole', chardev: `charconsole${i}`, id: `console${i}` });
    } else {
      throw unsupportedConfig(`<console> target type '${targetType}' is not supported by snapvirt`);
    }
  });
  childElements(devices, 'channel').forEach((channel, i) => addChannel(ctx, channel, i, agentSocketPath));
}

function targetPort(el: XmlElement): number | undefined {
  const target = childElement(el, 'target');
  return target ? intAttr(target, 'port') : undefined;
}

function addSerialPort(ctx: DeviceContext, el: XmlElement, port: number): void {
  refuseOtherChildren(el, CHAR_CHILDREN);
  const target = childElement(el, 'target');
  if (target) refuseOtherChildren(target, ['model']);
  const targetType = (target && attrValue(target, 'type')) ?? 'isa-serial';
  const chardev = `charserial${port}`;
  ctx.args.push('-chardev', chardevArg(el, chardev));
  if (targetType === 'isa-serial' || targetType === 'serial') {
    if (port > 3) throw unsupportedConfig(`isa-serial port ${port}: the machine has 4 (0-3)`);
    pushDevice(ctx, { driver: 'isa-serial', chardev, id: `serial${port}`, index: port });
  } else if (targetType === 'pci-serial' && hasDevice(ctx, 'pci-serial')) {
    pushDevice(ctx, { driver: 'pci-serial', chardev, id: `serial${port}`, ...pciPlacement(ctx, el) });
  } else {
    throw unsupportedConfig(`<${el.name}> target type '${targetType}' is not supported by snapvirt`);
  }
}

function addChannel(ctx: DeviceContext, channel: XmlElement, i: number, agentSocketPath: string | undefined): void {
  const target = childElement(channel, 'target');
  const isAgent = attrValue(channel, 'type') === 'unix' && target !== undefined
    && attrValue(target, 'type') === 'virtio' && attrValue(target, 'name') === GUEST_AGENT_CHANNEL;
  if (!isAgent) throw notHonoured(channel);
  if (agentSocketPath === undefined) return;
  refuseOtherChildren(channel, CHAR_CHILDREN);
  // As libvirt: a virtio-serial port named org.qemu.guest_agent.0 on a unix socket QEMU serves
  // (snapvirt's socket lives in the runtime directory, whatever <source path> says).
  addVirtioSerial(ctx);
  ctx.args.push('-chardev', `socket,id=charchannel${i},path=${escapeOpt(agentSocketPath)},server=on,wait=off`);
  pushDevice(ctx, `virtserialport,bus=virtio-serial0.0,nr=${i + 1},chardev=charchannel${i},id=channel${i},name=${GUEST_AGENT_CHANNEL}`);
}

/** The -chardev argument for a character device's backend (its `type` and `<source>`). */
export function chardevArg(el: XmlElement, id: string): string {
  const type = attrValue(el, 'type') ?? 'pty';
  const source = childElement(el, 'source');
  const sourceAttr = (name: string): string | undefined => (source ? attrValue(source, name) : undefined);
  switch (type) {
    case 'pty':
      return `pty,id=${id}`;
    case 'null':
      return `null,id=${id}`;
    case 'file': {
      const path = sourceAttr('path');
      if (path === undefined) throw missingSourcePath();
      return `file,id=${id},path=${escapeOpt(path)}${sourceAttr('append') === 'on' ? ',append=on' : ''}`;
    }
    case 'unix': {
      const path = sourceAttr('path');
      if (path === undefined) throw missingSourcePath();
      // libvirt: mode='bind' makes QEMU the server; the default, connect, a client.
      return `socket,id=${id},path=${escapeOpt(path)}${sourceAttr('mode') === 'bind' ? ',server=on,wait=off' : ''}`;
    }
    case 'tcp': {
      const host = sourceAttr('host');
      const service = sourceAttr('service');
      if (host === undefined || service === undefined) throw unsupportedConfig(`${elementLabel(el)} without a source host and service`);
      const protocol = childElement(el, 'protocol');
      const telnet = protocol !== undefined && attrValue(protocol, 'type') === 'telnet';
      return `socket,id=${id},host=${escapeOpt(host)},port=${escapeOpt(service)}${telnet ? ',telnet=on' : ''}${sourceAttr('mode') === 'bind' ? ',server=on,wait=off' : ''}`;
    }
    default:
      throw unsupportedConfig(`character device type '${type}' of ${elementLabel(el)} is not supported by snapvirt`);
  }
}

/** libvirt 9.0's refusal of a unix or file character device without a path. */
function missingSourcePath(): Error {
  return virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, 'Missing source path attribute for char device');
}
