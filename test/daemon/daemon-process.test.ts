/**
 * snapvirtd as a process: its sockets and their modes, the read-only socket's refusals
 * (real virsh, libvirt's message), --max-clients, SIGTERM (running calls finish, sockets
 * and pid file removed, status 0), --timeout, --daemon with --pid-file, and usage errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseDaemonArgs } from '../../src/daemon/options.js';
import { defaultSocketPath } from '../../src/rpc/snapvirtd-socket.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { SNAPVIRTD, startSnapvirtd } from '../helpers/snapvirtd.js';
import { RpcTestClient } from '../helpers/rpc-test-client.js';

const run = promisify(execFile);

function virsh(uri: string, commands: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile('virsh', ['-c', uri, commands], { env: { PATH: process.env.PATH, LANG: 'C', TZ: 'UTC' } }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 }));
  });
}

test('sockets: PATH and PATH-ro, root\'s modes (0700 read-write, 0777 read-only); the default paths are libvirt\'s', async () => {
  const tmp = await makeTempDir('snapvirtd-sock-');
  const d = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') });
  try {
    assert.equal(statSync(d.socket).mode & 0o777, 0o700);
    assert.equal(statSync(d.roSocket).mode & 0o777, 0o777);
    assert.ok(statSync(d.socket).isSocket());
  } finally {
    assert.equal(await d.stop(), 0);
    await tmp.cleanup();
  }
  assert.ok(!existsSync(d.socket) && !existsSync(d.roSocket), 'sockets removed on exit');
  assert.equal(defaultSocketPath(0), '/run/snapvirt/snapvirtd-sock');
  assert.equal(defaultSocketPath(1000, { XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/snapvirt/snapvirtd-sock');
  assert.equal(defaultSocketPath(1000, { HOME: '/home/u' }), '/home/u/.cache/snapvirt/snapvirtd-sock');
});

test('the read-only socket: reads work, every mutating call is refused with libvirt\'s message, nothing changes', async () => {
  const tmp = await makeTempDir('snapvirtd-ro-');
  const d = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') });
  try {
    const ro = `test+unix:///default?socket=${d.roSocket}`;
    const list = await virsh(ro, 'list --all; snapshot-list test --name; dominfo test');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ 1 +test +running$/m);
    for (const [cmd, fn] of [
      ['destroy test', 'virDomainDestroy'],
      ['suspend test', 'virDomainSuspend'],
      ['snapshot-create-as test s1', 'virDomainSnapshotCreateXML'],
      ['undefine test', 'virDomainUndefineFlags'],
    ] as const) {
      const r = await virsh(ro, cmd);
      assert.equal(r.code, 1, cmd);
      assert.match(r.stderr, new RegExp(`^error: operation forbidden: read only access prevents ${fn}$`, 'm'), cmd);
    }
    const after = await virsh(ro, 'domstate test; snapshot-list test --name');
    assert.equal(after.stdout, 'running\n\n\n');
  } finally {
    await d.stop();
    await tmp.cleanup();
  }
});

test('--max-clients: a client past the limit is refused and logged; a freed place is taken again', async () => {
  const tmp = await makeTempDir('snapvirtd-max-');
  const d = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') }, ['--max-clients', '1']);
  try {
    const first = await RpcTestClient.connect(d.socket);
    await first.open('test:///default');
    const refused = await virsh(`test+unix:///default?socket=${d.socket}`, 'list --name');
    assert.notEqual(refused.code, 0);
    assert.match(d.log(), /client 2: refused: 1 clients already connected \(--max-clients 1\)/);
    first.end();
    await first.closed;
    let ok = await virsh(`test+unix:///default?socket=${d.socket}`, 'list --name');
    // The first client's close reaches the daemon asynchronously: retry until its place is free.
    for (let i = 0; i < 50 && ok.code !== 0; i++) ok = await virsh(`test+unix:///default?socket=${d.socket}`, 'list --name');
    assert.equal(ok.stdout, 'test\n\n');
  } finally {
    await d.stop();
    await tmp.cleanup();
  }
});

test('SIGTERM: a call sent just before it still gets its reply; the daemon exits 0 and removes its sockets and pid file', async () => {
  const tmp = await makeTempDir('snapvirtd-term-');
  const d = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') }, ['--pid-file', join(tmp.path, 'pid')]);
  try {
    assert.equal(readFileSync(join(tmp.path, 'pid'), 'utf8'), `${d.child.pid}\n`);
    const c = await RpcTestClient.connect(d.socket);
    await c.open('test:///default');
    const { remoteProcedures: P } = await import('../../src/rpc/generated/remote-protocol.js');
    const pending = c.call(P.REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 0 });
    d.child.kill('SIGTERM');
    assert.deepEqual((await pending).domains.map((x) => x.name), ['test']);
    assert.equal(await d.exited, 0);
    await c.closed;
    assert.match(d.log(), /stopping \(SIGTERM\): finishing running calls\n.*stopped\n/);
    assert.ok(!existsSync(join(tmp.path, 'pid')) && !existsSync(d.socket));
  } finally {
    await d.stop();
    await tmp.cleanup();
  }
});

test('--timeout: with no client the daemon exits by itself, status 0', async () => {
  const tmp = await makeTempDir('snapvirtd-idle-');
  const d = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') }, ['--timeout', '1']);
  try {
    // No client at all: a virsh call here raced the one-second timer on a loaded machine
    // (virsh could start after the daemon had already gone).
    assert.equal(await d.exited, 0);
    assert.match(d.log(), /stopping \(idle for 1 s\)/);
  } finally {
    await d.stop();
    await tmp.cleanup();
  }
});

test('--daemon --pid-file --log-file: the command returns once the daemon listens; the pid file names it; it logs to the file; SIGTERM ends it', async () => {
  const tmp = await makeTempDir('snapvirtd-bg-');
  const sock = join(tmp.path, 'sock');
  const pidFile = join(tmp.path, 'pid');
  const logFile = join(tmp.path, 'log');
  try {
    await run(process.execPath, [SNAPVIRTD, '--daemon', '--pid-file', pidFile, '--log-file', logFile, '--socket', sock], { env: { ...process.env, SNAPVIRT_STATE_DIR: join(tmp.path, 'state') } });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(pid > 0 && pid !== process.pid);
    for (const file of [pidFile, logFile]) assert.equal(statSync(file).mode & 0o777, 0o600, `${file} is private`);
    const r = await virsh(`test+unix:///default?socket=${sock}`, 'list --name');
    assert.equal(r.stdout, 'test\n\n');
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200 && existsSync(pidFile); i++) await new Promise((res) => setTimeout(res, 50));
    assert.ok(!existsSync(pidFile) && !existsSync(sock));
    assert.match(readFileSync(logFile, 'utf8'), new RegExp(`^\\S+Z snapvirtd\\[${pid}\\]: listening on ${sock} and ${sock}-ro\\n[^]*: stopped\\n$`));
  } finally {
    await tmp.cleanup();
  }
});

test('a second daemon on a socket in use is refused; usage errors exit 2', async () => {
  const tmp = await makeTempDir('snapvirtd-twice-');
  const d = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') });
  try {
    const second = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [SNAPVIRTD, '--socket', d.socket], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    assert.equal(second.code, 1);
    assert.match(second.stderr, /another daemon is already listening on /);
    assert.throws(() => parseDaemonArgs(['--timeout', 'x']), /--timeout needs a whole number, not 'x'/);
    assert.throws(() => parseDaemonArgs(['--max-clients', '0']), /--max-clients must be at least 1/);
    assert.throws(() => parseDaemonArgs(['--bogus']), /unknown option '--bogus'/);
    const usage = await run(process.execPath, [SNAPVIRTD, '--bogus']).then(() => 0, (e: { code: number }) => e.code);
    assert.equal(usage, 2);
  } finally {
    await d.stop();
    await tmp.cleanup();
  }
});

test('a session daemon (not root): the default socket under $XDG_RUNTIME_DIR, directory 0700, sockets 0600, its user\'s', async () => {
  const tmp = await makeTempDir('snapvirtd-user-');
  const runtime = join(tmp.path, 'run');
  const nobody = 65534;
  try {
    await run('install', ['-d', '-o', String(nobody), '-g', String(nobody), '-m', '0700', runtime, join(tmp.path, 'state')]);
    await run('chmod', ['0755', tmp.path]);
    const child = spawn('setpriv', [`--reuid=${nobody}`, `--regid=${nobody}`, '--clear-groups', process.execPath, SNAPVIRTD], {
      env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: runtime, HOME: runtime, SNAPVIRT_STATE_DIR: join(tmp.path, 'state') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => { log += c.toString(); if (log.includes('listening on')) resolve(); });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${log}`)));
    });
    const sock = join(runtime, 'snapvirt', 'snapvirtd-sock');
    assert.match(log, new RegExp(`listening on ${sock} and ${sock}-ro`));
    const dir = statSync(join(runtime, 'snapvirt'));
    assert.deepEqual([dir.mode & 0o777, dir.uid], [0o700, nobody]);
    for (const s of [sock, `${sock}-ro`]) assert.deepEqual([statSync(s).mode & 0o777, statSync(s).uid], [0o600, nobody]);
    const asNobody = await run('setpriv', [`--reuid=${nobody}`, `--regid=${nobody}`, '--clear-groups', 'virsh', '-c', `test+unix:///default?socket=${sock}`, 'list --name'],
      { env: { PATH: process.env.PATH, HOME: runtime } });
    assert.equal(asNobody.stdout, 'test\n\n');
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  } finally {
    await tmp.cleanup();
  }
});
