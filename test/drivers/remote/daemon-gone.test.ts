/**
 * A daemon that goes away, as libvirt's client reports it. The daemon is stopped (SIGSTOP)
 * before a call is sent and killed (SIGKILL) while the call waits, so the call is in
 * flight when it dies, every time; the kernel then resets the connection (the call was
 * never read), and the call fails as virNetSocketReadWire reports a failed read:
 * VIR_ERR_SYSTEM_ERROR from the RPC subsystem, "Cannot recv data: Connection reset by
 * peer" (virsh 9.0 prints exactly that when its daemon dies so; a daemon that dies after
 * reading the call gives "End of file while reading data: Input/output error"). Later
 * calls on that connection fail with "internal error: client socket is closed", and a
 * socket nobody listens on any more is refused with libvirt's "Failed to connect socket
 * to '…': Connection refused", which `snapvirt -c` prints as virsh does. A daemon that
 * stops answering (SIGSTOP) is given up by keepalive after 6 unanswered PINGs 5 s apart,
 * with the error virsh's shell prints in the same moment ("internal error: connection
 * closed due to keepalive timeout"); this one waits those 35 s.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { connect, VirError } from '../../../src/index.js';
import { daemonUri, startSnapvirtd, type RunningDaemon } from '../../helpers/snapvirtd.js';
import { snapvirtCommand, virshCommand } from '../../helpers/run-command.js';
import { makeTempDir, type TempDir } from '../../helpers/temp-dir.js';



const errorOf = (err: unknown): [number, number, string] => {
  assert.ok(err instanceof VirError, String(err));
  return [err.code, err.domain, err.message];
};

describe('a daemon that goes away', () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  before(async () => {
    tmp = await makeTempDir('snapvirt-remote-gone-');
    daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: `${tmp.path}/state` });
  });
  after(async () => {
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGKILL');
    await daemon.exited;
    await tmp.cleanup();
  });

  it('fails the call in flight as a reset connection, later calls with a closed socket, and refuses new connections', async () => {
    const uri = daemonUri('test:///default', daemon.socket);
    const conn = await connect(uri);
    const dom = await conn.domainLookupByName('test');
    daemon.child.kill('SIGSTOP');
    const inFlight = dom.snapshotCreateXML('<domainsnapshot><name>never</name></domainsnapshot>');
    const settled = inFlight.then(() => undefined, (err: unknown) => err);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    assert.deepEqual(errorOf(await settled), [38, 7, 'Cannot recv data: Connection reset by peer']);
    await assert.rejects(dom.getState(), (err: unknown) => {
      assert.deepEqual(errorOf(err), [1, 7, 'internal error: client socket is closed']);
      return true;
    });
    await conn.close();

    // SIGKILL left the socket file behind, with nobody listening on it.
    assert.ok(existsSync(daemon.socket));
    await assert.rejects(connect(uri), (err: unknown) => {
      assert.deepEqual(errorOf(err), [38, 7, `Failed to connect socket to '${daemon.socket}': Connection refused`]);
      return true;
    });
    const [v, s] = await Promise.all([virshCommand(['-c', uri, 'list']), snapvirtCommand(['-c', uri, 'list'])]);
    assert.match(v.stderr, /Connection refused/);
    assert.deepEqual(s, v);
  });
});

describe('a daemon that stops answering', () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  before(async () => {
    tmp = await makeTempDir('snapvirt-remote-keepalive-');
    daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: `${tmp.path}/state` });
  });
  after(async () => {
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGKILL');
    await daemon.exited;
    await tmp.cleanup();
  });

  it('is given up by keepalive, with the error virsh reports (5 s between PINGs, 6 unanswered)', async () => {
    const uri = daemonUri('test:///default', daemon.socket);
    const conn = await connect(uri);
    const dom = await conn.domainLookupByName('test');
    // virsh's shell, connected and answered once before the daemon stops.
    const virsh = spawn('virsh', ['-c', uri], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', HOME: '/nonexistent' } });
    let out = '';
    let err = '';
    virsh.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
    virsh.stderr.on('data', (c: Buffer) => { err += c.toString('utf8'); });
    const virshExited = new Promise((resolve) => virsh.once('exit', resolve));
    virsh.stdin.write('list --name\n');
    await new Promise<void>((resolve) => { const check = (): void => { if (out.includes('test')) resolve(); }; virsh.stdout.on('data', check); check(); });

    daemon.child.kill('SIGSTOP');
    const settled = dom.getState().then(() => undefined, (e: unknown) => e);
    virsh.stdin.write('list --name\nquit\n');
    const [e] = await Promise.all([settled, virshExited]);
    assert.deepEqual(errorOf(e), [1, 7, 'internal error: connection closed due to keepalive timeout']);
    assert.ok(err.endsWith(`error: ${(e as VirError).message}\n`), err);
    await assert.rejects(dom.getState(), /client socket is closed/);
    await conn.close();
  });
});
