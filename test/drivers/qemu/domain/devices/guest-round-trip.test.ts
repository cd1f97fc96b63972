/**
 * The tiny real guest (Debian kernel, busybox initramfs) through a whole life under
 * snapvirt: it boots with a user-mode NIC and fetches from an HTTP server on the host,
 * prints on the serial console read through openConsole (what `snapvirt console` uses),
 * writes a file on its disk; a quiesced disk-only snapshot; the file changed; an ACPI
 * reboot (libvirt's fake reboot: the guest powers off, the same QEMU is reset and boots
 * again); then destroy, revert, start: the guest reads the file as it was at the snapshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { DomainState, RunningReason, SnapshotCreateFlags as C } from '../../../../../src/api/flags.js';
import { runtimeDirFor } from '../../../../../src/drivers/qemu/domain/active-runtime.js';
import { qemuRuntimePaths } from '../../../../../src/drivers/qemu/domain/qemu-process.js';
import { killAllQemu } from '../../support/active-env.js';
import { agentCall, buildTinyGuest, makeGuestDataDisk, tinyGuestXml, waitForAgent } from '../../support/tiny-guest.js';
import { openQemuTestEnv } from '../../../../helpers/qemu-connection.js';

/** Everything a console stream shows, and a bounded wait for the n-th match of a pattern. */
class ConsoleLog {
  text = '';
  constructor(readonly stream: Duplex) {
    stream.on('data', (chunk: Buffer) => { this.text += chunk.toString('latin1'); });
    stream.on('error', () => undefined);
  }

  /** Waits until `pattern` occurs `count` times (generous: TCG on a shared host boots slowly). */
  async waitFor(pattern: RegExp, count = 1, timeoutMs = 240_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const global = new RegExp(pattern.source, 'g');
    while ((this.text.match(global)?.length ?? 0) < count) {
      if (Date.now() > deadline) throw new Error(`console never showed ${pattern} ${count} times; got:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Writes `content` to `path` in the guest through its agent, then freezes and thaws its file systems (the data reaches the disk). */
async function guestWriteFile(sock: string, path: string, content: string): Promise<void> {
  const handle = await agentCall(sock, 'guest-file-open', { path, mode: 'w' }, 60_000);
  await agentCall(sock, 'guest-file-write', { handle, 'buf-b64': Buffer.from(content).toString('base64') }, 60_000);
  await agentCall(sock, 'guest-file-close', { handle }, 60_000);
  await agentCall(sock, 'guest-fsfreeze-freeze', undefined, 60_000);
  await agentCall(sock, 'guest-fsfreeze-thaw', undefined, 60_000);
}

/** Reads `path` in the guest through its agent. */
async function guestReadFile(sock: string, path: string): Promise<string> {
  const handle = await agentCall(sock, 'guest-file-open', { path, mode: 'r' }, 60_000);
  const reply = await agentCall(sock, 'guest-file-read', { handle, count: 4096 }, 60_000) as { 'buf-b64': string };
  await agentCall(sock, 'guest-file-close', { handle }, 60_000);
  return Buffer.from(reply['buf-b64'], 'base64').toString();
}

test('a real guest: network to the host, console, a file on its disk through snapshot, reboot and revert', async (t) => {
  await buildTinyGuest();
  const token = randomBytes(8).toString('hex');
  const server = createServer((_req, res) => res.end(`hello-${token}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const env = await openQemuTestEnv();
  t.after(async () => {
    server.close();
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const dom = await env.conn.domainDefineXML(tinyGuestXml(await makeGuestDataDisk(env.imageDir), {
    cmdline: `snapvirt.fetch=http://10.0.2.2:${port}/`,
    devices: `
    <interface type='user'><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>`,
  }));
  const sock = qemuRuntimePaths(runtimeDirFor(env.stateDir, dom.getUUIDString())).guestAgentSocket;

  await dom.create();
  const consoleLog = new ConsoleLog(await dom.openConsole());
  await consoleLog.waitFor(/FETCHED:[^\n]*\n/);
  assert.match(consoleLog.text, new RegExp(`FETCHED:hello-${token}`), 'the guest reached the host HTTP server through its user-mode NIC');
  await waitForAgent(sock);
  await guestWriteFile(sock, '/mnt/data/state', 'before');
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY | C.QUIESCE);
  await guestWriteFile(sock, '/mnt/data/state', 'after');
  assert.equal(await guestReadFile(sock, '/mnt/data/state'), 'after');

  // An ACPI reboot: the guest powers off (it has no ACPI daemon, so it is told to through
  // its agent), and the next look at the domain resets the same QEMU instead of stopping it.
  const id = dom.getID();
  await dom.reboot(1 /* VIR_DOMAIN_REBOOT_ACPI_POWER_BTN */);
  await agentCall(sock, 'guest-exec', { path: '/bin/poweroff', arg: ['-f'] }, 60_000);
  const deadline = Date.now() + 120_000;
  // Until the guest is down, QEMU runs on; once down, getState finishes the reboot.
  for (;;) {
    const status = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-status"}')) as { return: { status: string } };
    if (status.return.status === 'shutdown') break;
    if (Date.now() > deadline) throw new Error(`the guest never powered off (status ${status.return.status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.BOOTED });
  await consoleLog.waitFor(/GUEST-READY/, 2);
  assert.equal((await env.conn.domainLookupByName('guest')).getID(), id, 'the same QEMU, reset');
  await waitForAgent(sock);
  assert.equal(await guestReadFile(sock, '/mnt/data/state'), 'after', 'a reboot keeps the disk');
  consoleLog.stream.destroy();

  await dom.destroy();
  await dom.revertToSnapshot(await dom.snapshotLookupByName('s1'));
  await dom.create();
  const afterRevert = new ConsoleLog(await dom.openConsole());
  await afterRevert.waitFor(/GUEST-READY/);
  await waitForAgent(sock);
  assert.equal(await guestReadFile(sock, '/mnt/data/state'), 'before', 'the guest sees the disk as it was at the snapshot');
  afterRevert.stream.destroy();
  await dom.destroy();
});
