/**
 * --quiesce with a real guest agent: a tiny Linux guest (Debian's cloud kernel,
 * busybox-static and qemu-guest-agent, built by support/guest/build-guest.sh from
 * `apt-get download` + `dpkg-deb -x`) appends to a file on an ext4 disk in a loop. A
 * quiesced snapshot's image is a clean filesystem (e2fsck -fn, no journal to replay) and
 * the snapshot records the freeze (library and snapshot-info), also when crash recovery
 * finishes it; a freeze that times out fails the snapshot, changes nothing, records
 * nothing, and leaves the guest thawed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SnapshotCreateFlags as C } from '../../../../../src/api/flags.js';
import { VirError, VirErrorCode } from '../../../../../src/api/errors.js';
import { main } from '../../../../../src/cli/main.js';
import { runChildOp } from '../../../../helpers/run-child-op.js';
import { queryBlock } from '../../support/active-env.js';
import { agentCall, tinyGuestWorld, tinyGuestXml, waitForAgent } from '../../support/tiny-guest.js';

const run = promisify(execFile);

/** Polls the freeze status until it is 'thawed' (bounded): a guest under load finishes a late freeze first. */
async function waitThawed(sock: string): Promise<unknown> {
  const deadline = Date.now() + 30_000;
  let status: unknown;
  do {
    status = await agentCall(sock, 'guest-fsfreeze-status').catch(() => undefined);
    if (status === 'thawed') return status;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadline);
  return status;
}

/** `snapvirt -c qemu:///session snapshot-info guest NAME` in this process; its stdout. */
async function snapshotInfo(stateDir: string, name: string): Promise<string> {
  let out = '';
  let err = '';
  const saved = process.env.SNAPVIRT_STATE_DIR;
  process.env.SNAPVIRT_STATE_DIR = stateDir;
  try {
    const status = await main(['-c', 'qemu:///session', 'snapshot-info', 'guest', name], { out: (t) => { out += t; }, err: (t) => { err += t; } });
    assert.equal(status, 0, err);
  } finally {
    if (saved === undefined) delete process.env.SNAPVIRT_STATE_DIR;
    else process.env.SNAPVIRT_STATE_DIR = saved;
  }
  return out;
}

test('quiesced snapshot with a real guest agent: clean filesystem; a timed-out freeze is thawed and reported', async (t) => {
  const { env, data, agentSocketOf } = await tinyGuestWorld(t);
  const dom = await env.conn.domainDefineXML(tinyGuestXml(data));
  await dom.create();
  const sock = agentSocketOf(dom);
  const booted = performance.now();
  await waitForAgent(sock);
  t.diagnostic(`guest agent answering after ${(performance.now() - booted).toFixed(0)} ms`);
  // Let the writer loop put some lines (and journal transactions) on the disk.
  await new Promise((r) => setTimeout(r, 1000));

  const started = performance.now();
  await dom.snapshotCreateXML('<domainsnapshot><name>q</name></domainsnapshot>', C.DISK_ONLY | C.QUIESCE);
  t.diagnostic(`quiesced snapshot (freeze + transaction + thaw, whole call): ${(performance.now() - started).toFixed(0)} ms`);
  assert.equal(await waitThawed(sock), 'thawed');
  // The snapshot records the freeze: the guest's one real filesystem (/mnt/data on vda).
  assert.deepEqual(await (await dom.snapshotLookupByName('q')).getQuiesceInfo(), { quiesced: true, frozenFilesystems: 1 });
  assert.match(await snapshotInfo(env.stateDir, 'q'), /^Metadata: {7}yes\nQuiesced: {7}yes \(1 filesystem frozen\)\n/m);

  // A freeze that cannot finish in time: the snapshot fails, nothing changes, the guest ends thawed.
  const before = { files: (await readdir(env.imageDir)).sort(), blocks: await queryBlock(dom), snaps: await dom.snapshotListNames() };
  process.env.SNAPVIRT_QUIESCE_TIMEOUT_MS = '1';
  try {
    await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>late</name></domainsnapshot>', C.DISK_ONLY | C.QUIESCE),
      (e: unknown) => {
        assert.ok(e instanceof VirError && e.code === VirErrorCode.AGENT_UNRESPONSIVE && /guest-fsfreeze-freeze/.test(e.message), String(e));
        return true;
      });
  } finally {
    delete process.env.SNAPVIRT_QUIESCE_TIMEOUT_MS;
  }
  assert.deepEqual({ files: (await readdir(env.imageDir)).sort(), blocks: await queryBlock(dom), snaps: await dom.snapshotListNames() }, before);
  assert.equal(await waitThawed(sock), 'thawed');

  // Control: an unquiesced snapshot of the same guest catches ext4 with its journal in use.
  await dom.snapshotCreateXML('<domainsnapshot><name>u</name></domainsnapshot>', C.DISK_ONLY);
  assert.deepEqual(await (await dom.snapshotLookupByName('u')).getQuiesceInfo(), { quiesced: false, frozenFilesystems: null });
  assert.match(await snapshotInfo(env.stateDir, 'u'), /^Quiesced: {7}no\n/m);

  // Killed after the switch (the freeze and thaw are done): recovery rolls the snapshot
  // forward and records it quiesced; how many filesystems froze only the dead process knew.
  const child = await runChildOp(env.stateDir, 'live-create.switch.after=crash',
    ['create', 'guest', '<domainsnapshot><name>k</name></domainsnapshot>', String(C.DISK_ONLY | C.QUIESCE)]);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const reopened = await (await env.reopen()).domainLookupByName('guest');
  assert.deepEqual(await (await reopened.snapshotLookupByName('k')).getQuiesceInfo(), { quiesced: true, frozenFilesystems: null });
  assert.match(await snapshotInfo(env.stateDir, 'k'), /^Quiesced: {7}yes\n/m);
  assert.equal(await waitThawed(sock), 'thawed');

  // Killed while the guest is frozen (inside the switch, before the transaction): the
  // guest stays frozen until recovery thaws it and rolls the snapshot back.
  const filesBefore = (await readdir(env.imageDir)).sort();
  const frozenKill = await runChildOp(env.stateDir, 'live-create.transaction.abort=crash',
    ['create', 'guest', '<domainsnapshot><name>f</name></domainsnapshot>', String(C.DISK_ONLY | C.QUIESCE)]);
  assert.equal(frozenKill.signal, 'SIGKILL', frozenKill.stderr);
  assert.equal(await agentCall(sock, 'guest-fsfreeze-status'), 'frozen', 'the killed process left the guest frozen');
  const recovered = await (await env.reopen()).domainLookupByName('guest');
  assert.equal(await agentCall(sock, 'guest-fsfreeze-status'), 'thawed', 'recovery thawed it');
  assert.deepEqual((await recovered.snapshotListNames()).sort(), ['k', 'q', 'u'], 'no snapshot f');
  assert.deepEqual((await readdir(env.imageDir)).sort(), filesBefore);
  await recovered.destroy();
  const unquiesced = join(env.imageDir, 'unquiesced.raw');
  await run('qemu-img', ['convert', '-O', 'raw', join(env.imageDir, 'data.q'), unquiesced]);
  assert.match((await run('dumpe2fs', ['-h', unquiesced])).stdout, /needs_recovery/);
  // The image the quiesced snapshot froze is a clean filesystem: nothing to replay.
  const frozen = join(env.imageDir, 'frozen.raw');
  await run('qemu-img', ['convert', '-O', 'raw', data, frozen]);
  const header = (await run('dumpe2fs', ['-h', frozen])).stdout;
  assert.doesNotMatch(header, /needs_recovery/);
  await run('e2fsck', ['-fn', frozen]); // exit status 0: no errors
  const log = (await run('debugfs', ['-R', 'cat /log', frozen])).stdout;
  assert.match(log, /^line \d+$/m, 'the guest had written lines before the snapshot');
});
