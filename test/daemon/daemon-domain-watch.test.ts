/**
 * snapvirtd's domain watch: a resident monitor on each running QEMU's events.sock (the
 * second QMP monitor every QEMU snapvirt starts has). Through the daemon, real virsh's
 * domstate follows a suspend and a resume made by another process (the CLI), and keeps
 * answering QEMU's own state while another process holds qmp.sock, which the daemon's
 * ordinary path would have to wait for (it then reports the recorded state instead). A
 * QEMU without events.sock (started by an older snapvirt) is answered the ordinary way.
 * A merge the CLI runs in another process reaches a block-job listener of the daemon
 * (python3-libvirt), once, naming the merged image from the journal. A guest that powers itself off is finished as libvirt does
 * (QEMU stopped, "shut off (shutdown)") when the daemon hears it.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import { isQemuRunningIn, qemuRuntimePaths } from '../../src/drivers/qemu/domain/qemu-process.js';
import { QmpClient } from '../../src/drivers/qemu/qmp/qmp-client.js';
import { guestWriteVia, makeRunningEnv, type RunningEnv } from '../drivers/qemu/support/active-env.js';
import { agentCall, tinyGuestWorld, tinyGuestXml, waitForAgent } from '../drivers/qemu/support/tiny-guest.js';
import { runCommand, SNAPVIRT_BIN, snapvirtCommand } from '../helpers/run-command.js';
import { waitUntilStopped } from '../helpers/process-state.js';
import { startSnapvirtd, type RunningDaemon } from '../helpers/snapvirtd.js';

async function daemonOver(r: Pick<RunningEnv, 'env'>): Promise<{ daemon: RunningDaemon; virsh(cmd: string): Promise<string>; cli(cmd: string): Promise<void> }> {
  const daemon = await startSnapvirtd(join(r.env.imageDir, '..'), { SNAPVIRT_STATE_DIR: r.env.stateDir });
  const uri = `qemu+unix:///session?socket=${daemon.socket}`;
  return {
    daemon,
    async virsh(cmd) {
      const out = await runCommand('virsh', ['-c', uri, cmd]);
      assert.equal(out.code, 0, out.stderr);
      return out.stdout.trim();
    },
    async cli(cmd) {
      const out = await snapvirtCommand(['-c', 'qemu:///session', cmd], { SNAPVIRT_STATE_DIR: r.env.stateDir, SNAPVIRT_QEMU_ACCEL: 'tcg' });
      assert.equal(out.code, 0, out.stderr);
    },
  };
}

test('through snapvirtd, domstate follows another process\'s suspend and resume, and answers while another process holds qmp.sock', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  await r.dom.create();
  const { daemon, virsh, cli } = await daemonOver(r);
  t.after(() => daemon.stop());
  assert.equal(await virsh('domstate vm --reason'), 'running (booted)');
  await cli('suspend vm');
  assert.equal(await virsh('domstate vm --reason'), 'paused (user)');
  await cli('resume vm');
  assert.equal(await virsh('domstate vm --reason'), 'running (unpaused)');

  // Another process holds qmp.sock (QEMU serves one client there) and stops the vCPUs
  // without recording it: only QEMU's STOP, heard on events.sock, says the guest is paused.
  // The ordinary path would wait for qmp.sock, then report the record: "running (unpaused)".
  const runtimeDir = join(r.env.stateDir, 'run', r.dom.getUUIDString());
  const holder = await QmpClient.connect(qemuRuntimePaths(runtimeDir).qmpSocket);
  t.after(() => holder.destroy());
  await holder.execute('stop');
  assert.equal(await virsh('domstate vm --reason'), 'paused (unknown)');
  assert.match(await virsh('dominfo vm'), /^State:\s+paused$/m);
  assert.match(await virsh('list'), /vm\s+paused/);
  await holder.execute('cont');
  assert.equal(await virsh('domstate vm --reason'), 'running (unpaused)');
  assert.match(await virsh('list'), /vm\s+running/);
  await holder.close();
  assert.equal(daemon.log().match(/error/i), null, daemon.log());
});

test('a QEMU without events.sock (an older snapvirt\'s) still answers its state through snapvirtd', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  await r.dom.create();
  const runtimeDir = join(r.env.stateDir, 'run', r.dom.getUUIDString());
  // What a QEMU started before the second monitor existed looks like to the daemon.
  await rm(qemuRuntimePaths(runtimeDir).eventsSocket);
  const { daemon, virsh, cli } = await daemonOver(r);
  t.after(() => daemon.stop());
  assert.equal(await virsh('domstate vm --reason'), 'running (booted)');
  await cli('suspend vm');
  assert.equal(await virsh('domstate vm --reason'), 'paused (user)');
  assert.match(await virsh('list'), /vm\s+paused/);
  await cli('resume vm');
  assert.equal(await virsh('domstate vm --reason'), 'running (unpaused)');
  assert.match(await virsh('dominfo vm'), /^State:\s+running$/m);
});

const BLOCK_JOB_LISTENER = `
import sys, libvirt
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB, lambda c, d, path, typ, status, o: print("block-job", d.name(), path, typ, status, flush=True), None)
conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2, lambda c, d, dst, typ, status, o: print("block-job-2", d.name(), dst, typ, status, flush=True), None)
print("registered", flush=True)
while True:
    libvirt.virEventRunDefaultImpl()
`;

/** A running domain with a disk-only snapshot s1 written over, snapvirtd, and a block-job listener registered with it. */
async function mergeWorld(t: TestContext): Promise<{ r: RunningEnv; daemon: RunningDaemon; cli(cmd: string): Promise<void>; overlay: string; lines(): string[] }> {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  await r.dom.create();
  await r.dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  await guestWriteVia(r.dom, 'vda', 0x5a, 0, '1M');
  const { daemon, cli } = await daemonOver(r);
  t.after(() => daemon.stop());
  const listener = spawn('/usr/bin/python3', ['-c', BLOCK_JOB_LISTENER, `qemu+unix:///session?socket=${daemon.socket}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => listener.kill());
  let out = '';
  let err = '';
  listener.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  listener.stderr.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  for (let i = 0; i < 600 && !out.includes('registered\n'); i++) await sleep(50);
  assert.match(out, /registered/, err);
  const lines = (): string[] => out.split('\n').filter((l) => l.startsWith('block-job'));
  return { r, daemon, cli, overlay: r.disks[0]!.path.replace(/\.qcow2$/, '.s1'), lines };
}

/** What the listener prints for an active commit of `overlay` on vda: ready, then completed (libvirt's order). */
const activeCommitLines = (overlay: string): string[] => [
  `block-job vm ${overlay} 4 3`, 'block-job-2 vm vda 4 3', // ACTIVE_COMMIT, READY
  `block-job vm ${overlay} 4 0`, 'block-job-2 vm vda 4 0', // ACTIVE_COMMIT, COMPLETED
];

async function waitForLines(lines: () => string[], count: number): Promise<void> {
  for (let i = 0; i < 600 && lines().length < count; i++) await sleep(50);
}

test('a live merge the CLI runs in another process reaches a block-job listener of snapvirtd, once', async (t) => {
  const { cli, overlay, lines } = await mergeWorld(t);
  await cli('snapshot-delete vm s1'); // block-commit of the active layer, in the CLI's process
  await waitForLines(lines, 4);
  assert.deepEqual(lines(), activeCommitLines(overlay));
  // Three more seconds: nothing repeated, nothing made up.
  await sleep(3000);
  assert.deepEqual(lines(), activeCommitLines(overlay));
});

test('the merge\'s image is named from the journal, even when the daemon hears the job only after the CLI pivoted the disk', async (t) => {
  const { r, daemon, overlay, lines } = await mergeWorld(t);
  // The daemon frozen for the whole merge: it reads QEMU's events afterwards, when asking
  // QEMU for the disk's image would give the base the disk pivoted onto. The CLI stops
  // right after its merge, its journal entry still open.
  process.kill(daemon.child.pid!, 'SIGSTOP');
  let resumed = false;
  t.after(() => { if (!resumed) process.kill(daemon.child.pid!, 'SIGCONT'); });
  const deleted = new Promise<number | null>((resolve) => {
    const child = execFile(process.execPath, [SNAPVIRT_BIN, '-c', 'qemu:///session', 'snapshot-delete', 'vm', 's1'], {
      env: { ...process.env, SNAPVIRT_STATE_DIR: r.env.stateDir, SNAPVIRT_FAILPOINTS: 'live-delete.merge.after=stop', SNAPVIRT_TESTING: '1' },
    }, () => resolve(child.exitCode));
    void waitUntilStopped(child.pid!).then(async () => {
      process.kill(daemon.child.pid!, 'SIGCONT');
      resumed = true;
      await waitForLines(lines, 4);
      child.kill('SIGCONT');
    });
  });
  assert.equal(await deleted, 0);
  assert.deepEqual(lines(), activeCommitLines(overlay));
});

test('a guest that powers itself off is finished through snapvirtd from what its events.sock said', async (t) => {
  const { env, data } = await tinyGuestWorld(t);
  const dom = await env.conn.domainDefineXML(tinyGuestXml(data));
  await dom.create();
  const runtimeDir = join(env.stateDir, 'run', dom.getUUIDString());
  const { daemon, virsh } = await daemonOver({ env });
  t.after(() => daemon.stop());
  assert.equal(await virsh('domstate guest --reason'), 'running (booted)');
  await waitForAgent(qemuRuntimePaths(runtimeDir).guestAgentSocket);
  // The guest powers off; QEMU waits in status 'shutdown' (-no-shutdown) for someone to notice.
  // The power-off may come before the agent's reply gets out: the state below is what counts.
  await agentCall(qemuRuntimePaths(runtimeDir).guestAgentSocket, 'guest-exec', { path: '/bin/poweroff', arg: ['-f'] }, 60_000).catch(() => undefined);
  let state = '';
  for (let i = 0; i < 600 && !state.startsWith('shut off'); i++) {
    state = await virsh('domstate guest --reason');
    if (!state.startsWith('shut off')) await sleep(200);
  }
  assert.equal(state, 'shut off (shutdown)', daemon.log());
  assert.equal(await isQemuRunningIn(runtimeDir), false);
  assert.match(await virsh('list --all'), /guest\s+shut off/);
});
