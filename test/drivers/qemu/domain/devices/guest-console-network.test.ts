/**
 * A real guest (the tiny Debian-kernel guest) with the devices mapped for it: it prints on
 * its serial console, read from the unix socket (mode='bind') or the pty QEMU gives the
 * port, and with a user-mode virtio NIC it reaches an HTTP server on the host through
 * slirp's 10.0.2.2, with the MAC snapvirt generated and kept in the definition. As root,
 * a bridge NIC: the tap QEMU creates is put on a scratch bridge holding 10.0.2.2 and the
 * guest reaches the host through it; not as root, libvirt's refusal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { connect as connectSocket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { VirError } from '../../../../../src/api/errors.js';
import { killAllQemu } from '../../support/active-env.js';
import { buildTinyGuest, makeGuestDataDisk, tinyGuestXml, type TinyGuestExtras } from '../../support/tiny-guest.js';
import type { Domain } from '../../../../../src/api/domain.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../../helpers/qemu-connection.js';

/** A pty serial port and the console on it, as virt-install writes them. */
const PTY_CONSOLE = "\n    <serial type='pty'><target port='0'/></serial>\n    <console type='pty'><target type='serial' port='0'/></console>";

/** Defines the tiny guest (on a fresh data disk) with `extras`. */
async function defineTinyGuest(env: QemuTestEnv, extras: TinyGuestExtras): Promise<Domain> {
  return env.conn.domainDefineXML(tinyGuestXml(await makeGuestDataDisk(env.imageDir), extras));
}

/** Reads `stream` until every string of `wanted` was seen (bounded: TCG boots slowly on a busy host); returns the text. */
function readUntil(stream: Readable, wanted: RegExp[], timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => { stream.destroy(); reject(new Error(`console never showed ${wanted.join(', ')}; got:\n${text}`)); }, timeoutMs);
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (wanted.every((w) => w.test(text))) {
        clearTimeout(timer);
        stream.destroy();
        resolve(text);
      }
    });
    stream.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

test('the guest boots with a user-mode NIC, writes on a unix-socket serial console and fetches from the host through slirp', async () => {
  await buildTinyGuest();
  const token = randomBytes(8).toString('hex');
  const server = createServer((_req, res) => res.end(`hello-${token}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const env = await openQemuTestEnv();
  try {
    const data = await makeGuestDataDisk(env.imageDir);
    const sock = join(env.imageDir, 'console.sock');
    const dom = await env.conn.domainDefineXML(tinyGuestXml(data, {
      cmdline: `snapvirt.fetch=http://10.0.2.2:${port}/`,
      devices: `
    <interface type='user'><model type='virtio'/></interface>
    <serial type='unix'><source mode='bind' path='${sock}'/><target port='0'/></serial>
    <console type='unix'><source mode='bind' path='${sock}'/><target type='serial' port='0'/></console>`,
    }));
    const mac = /<mac address='([0-9a-f:]+)'\/>/.exec(await dom.getXMLDesc(0))?.[1];
    assert.match(mac ?? '', /^52:54:00:/, 'a generated MAC, kept in the definition');
    await dom.create();
    const console = connectSocket(sock);
    const text = await readUntil(console, [/GUEST-READY/, /FETCHED:[^\n]*\n/, /MAC:[^\n]*\n/]);
    assert.match(text, new RegExp(`FETCHED:hello-${token}`), 'the guest reached the host HTTP server at 10.0.2.2');
    assert.match(text, new RegExp(`MAC:${mac}`), 'the guest sees the MAC of the definition');
    await dom.destroy();
  } finally {
    server.close();
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

test('a pty serial console: QEMU names its pty (query-chardev) and the guest writes there', async () => {
  await buildTinyGuest();
  const env = await openQemuTestEnv();
  try {
    const dom = await defineTinyGuest(env, { devices: PTY_CONSOLE });
    await dom.create();
    const reply = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-chardev"}')) as { return: { label: string; filename: string }[] };
    const pty = reply.return.find((c) => c.label === 'charserial0')?.filename.replace(/^pty:/, '');
    assert.match(pty ?? '', /^\/dev\/pts\/[0-9]+$/);
    const text = await readUntil(createReadStream(pty!), [/GUEST-READY/]);
    assert.match(text, /GUEST-READY/);
    await dom.destroy();
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

const run = promisify(execFile);

test('a bridge NIC: as root the tap QEMU made is on the bridge and up, the guest reaches the host over it, and it is gone with QEMU', async () => {
  await buildTinyGuest();
  const env = await openQemuTestEnv();
  const bridge = `svbr${randomBytes(3).toString('hex')}`;
  const token = randomBytes(8).toString('hex');
  const server = createServer((_req, res) => res.end(`bridged-${token}`));
  try {
    const data = await makeGuestDataDisk(env.imageDir);
    const sock = join(env.imageDir, 'console.sock');
    const xml = (port: number): string => tinyGuestXml(data, {
      cmdline: `snapvirt.fetch=http://10.0.2.2:${port}/`,
      devices: `
    <interface type='bridge'><source bridge='${bridge}'/><model type='virtio'/></interface>
    <serial type='unix'><source mode='bind' path='${sock}'/><target port='0'/></serial>`,
    });
    if (process.getuid?.() !== 0) {
      const dom = await env.conn.domainDefineXML(xml(1));
      await assert.rejects(dom.create(), (e: unknown) => e instanceof VirError && e.message === 'Unable to create tap device vnet%d: Operation not permitted');
      return;
    }
    // No bridge yet: libvirt's refusal, and nothing runs.
    const missing = await env.conn.domainDefineXML(xml(1));
    await assert.rejects(missing.create(), (e: unknown) => e instanceof VirError && e.message === `Cannot get interface MTU on '${bridge}': No such device`);
    await missing.undefine();
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', '10.0.2.2/24', 'dev', bridge]);
    await run('ip', ['link', 'set', bridge, 'up']);
    await new Promise<void>((r) => server.listen(0, '10.0.2.2', r));
    const dom = await env.conn.domainDefineXML(xml((server.address() as AddressInfo).port));
    await dom.create();
    const info = await dom.qemuMonitorCommand('info network', 1);
    const tap = /hostnet0: [^\n]*ifname=([^,\s]+)/.exec(info)?.[1];
    assert.match(tap ?? '', /^vnet[0-9]+$/, 'the kernel numbered the tap from vnet%d');
    const link = (await run('ip', ['-o', 'link', 'show', 'dev', tap!])).stdout;
    assert.match(link, new RegExp(`master ${bridge}`));
    assert.match(link, /[<,]UP[,>]/);
    const text = await readUntil(connectSocket(sock), [/FETCHED:[^\n]*\n/]);
    assert.match(text, new RegExp(`FETCHED:bridged-${token}`), 'the guest reached the host over the bridge');
    await dom.destroy();
    await assert.rejects(run('ip', ['link', 'show', 'dev', tap!]), 'the tap went with QEMU');
  } finally {
    server.close();
    await killAllQemu(env.stateDir);
    await run('ip', ['link', 'del', bridge]).catch(() => undefined);
    await env.cleanup();
  }
});

const BIN = fileURLToPath(new URL('../../../../../../bin/snapvirt', import.meta.url));

test('snapvirt console under a terminal: attaches to the pty console, shows the guest, Ctrl-] detaches with exit 0', async () => {
  await buildTinyGuest();
  const env = await openQemuTestEnv();
  try {
    const dom = await defineTinyGuest(env, { devices: PTY_CONSOLE });
    await dom.create(1 /* paused: the console is attached before the guest prints */);
    // script(1) gives the command a terminal, as a user's shell would; our stdin becomes its keyboard.
    const child = spawn('script', ['-q', '-e', '-c', `'${process.execPath}' '${BIN}' -c qemu:///session console guest`, '/dev/null'], {
      env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString('latin1'); });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const waitFor = async (re: RegExp): Promise<void> => {
      const deadline = Date.now() + 180_000;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`never saw ${re}; got:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await waitFor(/Escape character is \^\] \(Ctrl \+ \]\)\r\n/);
    assert.match(out, /^Connected to domain 'guest'\r\n/);
    await dom.resume();
    await waitFor(/GUEST-READY/);
    child.stdin.write('\x1d');
    assert.equal(await exited, 0);
    assert.equal((await dom.getState()).state, 1, 'detaching leaves the domain running');
    await dom.destroy();
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

test('openConsole refusals: not running, an unknown device, a backend that is not a pty or socket; the test driver has none', async () => {
  const env = await openQemuTestEnv();
  try {
    const disk = join(env.imageDir, 'd.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    const dom = await env.conn.domainDefineXML(`<domain type='qemu'><name>c</name><memory>65536</memory><os><type>hvm</type></os>
      <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda'/></disk>
      <serial type='file'><source path='${join(env.imageDir, 'serial.log')}'/><target port='0'/></serial></devices></domain>`);
    const refused = async (devname: string | undefined, message: string): Promise<void> => {
      await assert.rejects(dom.openConsole(devname), (e: unknown) => e instanceof VirError && e.message === message);
    };
    await refused(undefined, 'Requested operation is not valid: domain is not running');
    await dom.create();
    await refused('nope', 'internal error: cannot find character device nope');
    await refused(undefined, 'internal error: character device serial0 is not using a PTY');
    await dom.destroy();
    const { connect: connectApi } = await import('../../../../../src/api/connection.js');
    const test = await connectApi('test:///default');
    await assert.rejects((await test.domainLookupByName('test')).openConsole(),
      (e: unknown) => e instanceof VirError && e.message === 'this function is not supported by the connection driver: virDomainOpenConsole');
    await test.close();
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});
