/**
 * A transient domain with a real guest (the tiny Linux of live/guest/build-guest.sh, with
 * qemu-guest-agent): a quiesced snapshot works as for a persistent domain, and when the
 * guest powers itself off the domain vanishes, with its snapshot metadata, while the
 * snapshot's files stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DomainState, ShutoffReason, SnapshotCreateFlags as C } from '../../../src/api/flags.js';
import { VirError, VirErrorCode } from '../../../src/api/errors.js';
import { GuestAgent } from '../../../src/drivers/qemu/live/guest-agent.js';
import { isQemuRunningIn, qemuRuntimePaths } from '../../../src/drivers/qemu/live/qemu-process.js';
import { runtimeDirFor } from '../../../src/drivers/qemu/running-runtime.js';
import { openQemuTestEnv } from '../../helpers/qemu-connection.js';
import { killAllQemu } from './live/running-env.js';

process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
const run = promisify(execFile);
const BUILD = fileURLToPath(new URL('../../../../test/drivers/qemu/live/guest/build-guest.sh', import.meta.url));
const GUEST_CACHE = '/tmp/snapvirt-test-guest';

async function agentCall(sock: string, command: string, args?: Record<string, unknown>): Promise<unknown> {
  const agent = await GuestAgent.connect(sock, 2000);
  try {
    return await agent.execute(command, args, 5000);
  } finally {
    agent.close();
  }
}

/** Waits (bounded, generously: TCG on a busy host) until the guest's agent answers. */
async function waitForAgent(sock: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await agentCall(sock, 'guest-ping');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

test('transient domain with a guest: quiesced snapshot; the guest powers off and the domain vanishes', async (t) => {
  await run('sh', [BUILD, GUEST_CACHE], { timeout: 300_000 });
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const raw = join(env.imageDir, 'data.raw');
  const data = join(env.imageDir, 'data.qcow2');
  await run('truncate', ['-s', '32M', raw]);
  await run('mkfs.ext4', ['-q', '-F', raw]);
  await run('qemu-img', ['convert', '-O', 'qcow2', raw, data]);
  const dom = await env.conn.domainCreateXML(`<domain type='qemu'>
  <name>guest</name>
  <memory unit='KiB'>262144</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${GUEST_CACHE}/vmlinuz</kernel>
    <initrd>${GUEST_CACHE}/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${data}'/><target dev='vda' bus='virtio'/></disk>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
  </devices>
</domain>`);
  const rtDir = runtimeDirFor(env.stateDir, dom.getUUIDString());
  const sock = qemuRuntimePaths(rtDir).guestAgentSocket;
  await waitForAgent(sock);

  const q1 = await dom.snapshotCreateXML('<domainsnapshot><name>q1</name></domainsnapshot>', C.DISK_ONLY | C.QUIESCE);
  assert.equal((await q1.getQuiesceInfo()).quiesced, true);
  assert.equal(await dom.isPersistent(), false);

  // The guest powers itself off (ACPI); QEMU waits in status 'shutdown' (-no-shutdown)
  // until snapvirt notices, stops it, and, the domain being transient, forgets it.
  await agentCall(sock, 'guest-exec', { path: '/bin/poweroff', arg: ['-f'] });
  const deadline = Date.now() + 60_000;
  let state: { state: number; reason: number } | undefined;
  while (Date.now() < deadline) {
    state = await dom.getState();
    if (state.state === DomainState.SHUTOFF) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(state, { state: DomainState.SHUTOFF, reason: ShutoffReason.SHUTDOWN });
  await assert.rejects(env.conn.domainLookupByName('guest'), (e: unknown) => e instanceof VirError && e.code === VirErrorCode.NO_DOMAIN);
  assert.deepEqual(await env.conn.listAllDomains(0), []);
  assert.equal(await isQemuRunningIn(rtDir), false);
  await stat(join(env.imageDir, 'data.q1'));
});
