/**
 * A transient domain with a real guest (the tiny Linux of support/guest/build-guest.sh, with
 * qemu-guest-agent): a quiesced snapshot works as for a persistent domain, and when the
 * guest powers itself off the domain vanishes, with its snapshot metadata, while the
 * snapshot's files stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainState, ShutoffReason, SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { isQemuRunningIn, qemuRuntimePaths } from '../../../../src/drivers/qemu/domain/qemu-process.js';
import { runtimeDirFor } from '../../../../src/drivers/qemu/domain/active-runtime.js';
import { agentCall, tinyGuestWorld, tinyGuestXml, waitForAgent } from '../support/tiny-guest.js';

process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
test('transient domain with a guest: quiesced snapshot; the guest powers off and the domain vanishes', async (t) => {
  const { env, data } = await tinyGuestWorld(t);
  const dom = await env.conn.domainCreateXML(tinyGuestXml(data));
  const rtDir = runtimeDirFor(env.stateDir, dom.getUUIDString());
  const sock = qemuRuntimePaths(rtDir).guestAgentSocket;
  await waitForAgent(sock);

  const q1 = await dom.snapshotCreateXML('<domainsnapshot><name>q1</name></domainsnapshot>', C.DISK_ONLY | C.QUIESCE);
  assert.equal((await q1.getQuiesceInfo()).quiesced, true);
  assert.equal(await dom.isPersistent(), false);

  // The guest powers itself off (ACPI); QEMU waits in status 'shutdown' (-no-shutdown)
  // until snapvirt notices, stops it, and, the domain being transient, forgets it.
  // A TCG guest on a busy two-core host has taken over 5 s to answer right after a thaw.
  await agentCall(sock, 'guest-exec', { path: '/bin/poweroff', arg: ['-f'] }, 60_000);
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
