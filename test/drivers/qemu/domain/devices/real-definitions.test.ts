/**
 * Real-world definitions on a real QEMU (TCG): a virt-install-style q35 guest, an
 * OpenStack Nova-style one and a minimal one (test/fixtures/domains/). For each, every
 * element is either honoured — the device is there, asked over the domain's own monitor
 * (query-pci, query-chardev, query-vnc, info qtree, qom-get) — or refused at define with
 * the element named. The whole definition as written is refused at its first such
 * element, as libvirt refuses a definition it cannot run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Domain } from '../../../../../src/api/domain.js';
import { VirError, VirErrorCode } from '../../../../../src/api/errors.js';
import { isKvmUsable } from '../../../../../src/drivers/qemu/domain/kvm-availability.js';
import { killAllQemu } from '../../support/active-env.js';
import { createQcow2 } from '../../support/active-test-support.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../../helpers/qemu-connection.js';

const FIXTURES = fileURLToPath(new URL('../../../../../../test/fixtures/domains/', import.meta.url));

/** One PCI function as query-pci reports it, flattened over bridges. */
interface PciFunction { bus: number; slot: number; qdevId: string }

async function monitor<T>(dom: Domain, command: string, args?: Record<string, unknown>): Promise<T> {
  const reply = JSON.parse(await dom.qemuMonitorCommand(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) }))) as { return: T };
  return reply.return;
}

async function pciFunctions(dom: Domain): Promise<PciFunction[]> {
  interface Dev { bus: number; slot: number; qdev_id: string; pci_bridge?: { devices?: Dev[] } }
  const buses = await monitor<{ devices: Dev[] }[]>(dom, 'query-pci');
  const out: PciFunction[] = [];
  const walk = (devs: Dev[]): void => {
    for (const d of devs) {
      out.push({ bus: d.bus, slot: d.slot, qdevId: d.qdev_id });
      if (d.pci_bridge?.devices) walk(d.pci_bridge.devices);
    }
  };
  for (const b of buses) walk(b.devices);
  return out;
}

/** The fixture with its disk, its virt type, and elements removed (by a string each, as written in the file). */
function fixture(file: string, disk: string, opts: { type?: string; drop?: string[] } = {}): string {
  let xml = readFileSync(join(FIXTURES, file), 'utf8').replace('@DISK@', disk);
  if (opts.type) xml = xml.replace(/<domain type='[a-z]+'>/, `<domain type='${opts.type}'>`);
  for (const piece of opts.drop ?? []) {
    assert.ok(xml.includes(piece), `fixture ${file} holds ${piece}`);
    xml = xml.replace(piece, '');
  }
  return xml;
}

async function defineError(env: QemuTestEnv, xml: string): Promise<VirError> {
  try {
    await env.conn.domainDefineXML(xml);
  } catch (err) {
    if (err instanceof VirError) return err;
    throw err;
  }
  assert.fail('the definition was accepted');
}

/** Each refused piece: the text in the fixture, and what the refusal names. */
type Refusals = Array<[piece: string, named: string]>;

async function withEnv(fn: (env: QemuTestEnv, disk: string) => Promise<void>): Promise<void> {
  const env = await openQemuTestEnv();
  try {
    const disk = join(env.imageDir, 'vda.qcow2');
    await createQcow2(disk);
    await fn(env, disk);
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
}

/** Each refused piece alone (on the otherwise honoured definition) is refused naming it. */
async function assertEachRefused(env: QemuTestEnv, file: string, disk: string, refused: Refusals): Promise<void> {
  const pieces = refused.map(([piece]) => piece);
  for (const [piece, named] of refused) {
    const err = await defineError(env, fixture(file, disk, { type: 'qemu', drop: pieces.filter((p) => p !== piece) }));
    assert.equal(err.code, VirErrorCode.CONFIG_UNSUPPORTED, err.message);
    assert.ok(err.message.includes(named), `${err.message} names ${named}`);
  }
}

test('virt-install q35: kvm refused without KVM as libvirt; host-passthrough (TCG) and a libvirt network refused; everything else runs', async () => {
  await withEnv(async (env, disk) => {
    const refused: Refusals = [
      ["<cpu mode='host-passthrough' check='none' migratable='on'/>", "CPU mode 'host-passthrough'"],
      [readFileSync(join(FIXTURES, 'virt-install-q35.xml'), 'utf8').match(/<interface type='network'>[\s\S]*?<\/interface>/)![0], "<interface type='network'>"],
    ];
    const saved = process.env.SNAPVIRT_QEMU_ACCEL;
    delete process.env.SNAPVIRT_QEMU_ACCEL;
    try {
      const err = await defineError(env, fixture('virt-install-q35.xml', disk));
      if (await isKvmUsable()) assert.match(err.message, /CPU mode|interface type='network'/);
      else assert.equal(err.message, "unsupported configuration: Emulator '/usr/bin/qemu-system-x86_64' does not support virt type 'kvm'");
    } finally {
      if (saved !== undefined) process.env.SNAPVIRT_QEMU_ACCEL = saved;
    }
    await assertEachRefused(env, 'virt-install-q35.xml', disk, refused);

    const dom = await env.conn.domainDefineXML(fixture('virt-install-q35.xml', disk, { type: 'qemu', drop: refused.map(([p]) => p) }));
    await dom.create();
    const pci = await pciFunctions(dom);
    const at = (id: string): PciFunction | undefined => pci.find((f) => f.qdevId === id);
    for (const id of ['pci.1', 'pci.2', 'pci.3', 'usb', 'video0', 'virtio-serial0', 'disk-vda']) assert.ok(at(id), `${id} on the PCI bus`);
    // Where QEMU put a device (not query-pci: it sees behind a root port only once the firmware numbered its bus).
    const placed = async (id: string): Promise<[string, number, number]> => {
      const bus = String(await monitor(dom, 'qom-get', { path: `/machine/peripheral/${id}`, property: 'parent_bus' }));
      const devfn = await monitor<number>(dom, 'qom-get', { path: `/machine/peripheral/${id}`, property: 'addr' });
      return [bus.split('/').pop()!, devfn >> 3, devfn & 7];
    };
    assert.deepEqual(await placed('balloon0'), ['pci.2', 0, 0], 'memballoon at its <address> (bus 2, slot 0)');
    assert.deepEqual(await placed('rng0'), ['pci.3', 0, 0], 'rng at its <address> (bus 3, slot 0)');
    assert.deepEqual(await placed('pci.2'), ['pcie.0', 2, 1], 'the root port at its <address> (slot 2, function 1)');
    const chardevs = await monitor<{ label: string; filename: string }[]>(dom, 'query-chardev');
    assert.match(chardevs.find((c) => c.label === 'charserial0')?.filename ?? '', /^pty:\/dev\/pts\//);
    assert.ok(chardevs.some((c) => c.label === 'charchannel0'), 'the guest agent channel');
    const qtree = await dom.qemuMonitorCommand('info qtree', 1);
    assert.match(qtree, /dev: isa-serial, id "serial0"/);
    assert.match(qtree, /dev: usb-tablet, id "input0"/);
    const vnc = await monitor<{ enabled: boolean; host: string; service: string }>(dom, 'query-vnc');
    assert.equal(vnc.enabled, true);
    assert.equal(vnc.host, '127.0.0.1');
    assert.ok(Number(vnc.service) >= 5900);
    assert.equal(await monitor(dom, 'qom-get', { path: '/machine', property: 'vmport' }), 'off');
    assert.notEqual(await monitor(dom, 'qom-get', { path: '/machine', property: 'acpi' }), 'off');
    assert.equal((await monitor<unknown[]>(dom, 'query-cpus-fast')).length, 2);
    await dom.destroy();
  });
});

test('OpenStack Nova-style pc guest: cputune, sysinfo, smbios, an interface MTU, a serial log and balloon stats refused by name; the rest runs', async () => {
  await withEnv(async (env, disk) => {
    const text = readFileSync(join(FIXTURES, 'openstack-nova.xml'), 'utf8');
    const refused: Refusals = [
      [text.match(/<cputune>[\s\S]*?<\/cputune>/)![0], '<cputune>'],
      [text.match(/<sysinfo type='smbios'>[\s\S]*?<\/sysinfo>/)![0], "<sysinfo type='smbios'>"],
      ["<smbios mode='sysinfo'/>", '<smbios>'],
      ["<mtu size='1450'/>", '<mtu>'],
      [text.match(/<serial type='pty'>[\s\S]*?<\/serial>/)![0], '<log>'],
      ["<stats period='10'/>", '<stats>'],
    ];
    const whole = await defineError(env, fixture('openstack-nova.xml', disk, { type: 'qemu' }));
    assert.equal(whole.message, 'unsupported configuration: <cputune> is not supported by snapvirt');
    await assertEachRefused(env, 'openstack-nova.xml', disk, refused);

    // The bridge NIC is honoured: a tap on bridge qbr…, which this host does not have (libvirt's error), or,
    // not as root, no tap at all (libvirt's error too).
    const withBridge = await env.conn.domainDefineXML(fixture('openstack-nova.xml', disk, { type: 'qemu', drop: refused.map(([p]) => p) }));
    await assert.rejects(withBridge.create(), (e: unknown) => e instanceof VirError && e.message === (process.getuid?.() === 0
      ? "Cannot get interface MTU on 'qbr1234abcd-ef': No such device" : 'Unable to create tap device tap1234abcd-ef: Operation not permitted'));
    const bridgeNic = text.match(/<interface type='bridge'>[\s\S]*?<\/interface>/)![0].replace("<mtu size='1450'/>", '');
    const dom = await env.conn.domainDefineXML(fixture('openstack-nova.xml', disk, { type: 'qemu', drop: [...refused.map(([p]) => p), bridgeNic] }));
    await dom.create();
    const ids = (await pciFunctions(dom)).map((f) => f.qdevId);
    for (const id of ['usb', 'video0', 'balloon0', 'rng0', 'disk-vda']) assert.ok(ids.includes(id), `${id} on the PCI bus`);
    const qtree = await dom.qemuMonitorCommand('info qtree', 1);
    assert.match(qtree, /dev: piix3-usb-uhci, id "usb"/);
    assert.match(qtree, /dev: isa-serial, id "serial0"/, 'the console without its serial gets a serial port of its own');
    assert.match(qtree, /dev: usb-tablet, id "input0"/);
    assert.equal((await monitor<{ enabled: boolean }>(dom, 'query-vnc')).enabled, true);
    await dom.destroy();
  });
});

test('minimal definition: only its disk, no ACPI (no <acpi/>, as libvirt), no display, nothing added', async () => {
  await withEnv(async (env, disk) => {
    const dom = await env.conn.domainDefineXML(fixture('minimal.xml', disk));
    await dom.create();
    const ids = (await pciFunctions(dom)).map((f) => f.qdevId).filter((id) => id !== '');
    assert.deepEqual(ids, ['disk-vda']);
    assert.equal(await monitor(dom, 'qom-get', { path: '/machine', property: 'acpi' }), 'off');
    assert.equal((await monitor<{ enabled: boolean }>(dom, 'query-vnc')).enabled, false);
    assert.deepEqual((await monitor<{ label: string }[]>(dom, 'query-chardev')).map((c) => c.label).sort(), ['charevents', 'charmonitor'], 'the two monitors: qmp.sock and events.sock');
    await dom.destroy();
  });
});

test('an <emulator> that is not installed: define accepts the video it cannot check yet, start refuses naming the binary', async () => {
  await withEnv(async (env, disk) => {
    const dom = await env.conn.domainDefineXML(fixture('minimal.xml', disk).replace('<devices>',
      "<devices>\n    <emulator>/nonexistent/qemu-system-x86_64</emulator>\n    <video><model type='virtio'/></video>"));
    await assert.rejects(dom.create(), (e: unknown) => e instanceof VirError
      && e.message === 'Cannot check QEMU binary /nonexistent/qemu-system-x86_64: No such file or directory');
  });
});
