/**
 * A quiesced group create (--quiesce) over two running tiny guests with real guest agents
 * (support/tiny-guest.ts: Debian's kernel, busybox and qemu-guest-agent writing to an ext4
 * data disk in a loop): both guests frozen before the window and thawed after it, each
 * member's image a clean filesystem and its snapshot recorded as quiesced; a failure
 * after the freeze, and one member's freeze failing, change nothing and leave both
 * thawed; a running member without an agent channel is refused as libvirt refuses it.
 * The CLI's `group-snapshot-create … --disk-only --quiesce` does the same. A kill with both
 * guests frozen and stopped is undone by the next open, which resumes and thaws both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DomainState, SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { isVirError, VirErrorCode } from '../../../../src/api/errors.js';
import type { Domain } from '../../../../src/api/domain.js';
import { qemuRuntimePaths } from '../../../../src/drivers/qemu/domain/qemu-process.js';
import { runtimeDirFor } from '../../../../src/drivers/qemu/domain/active-runtime.js';
import { main } from '../../../../src/cli/main.js';
import { domainXml, makeImages } from '../../../helpers/domain-fixture.js';
import { runChildOp } from '../../../helpers/run-child-op.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { killAllQemu, queryBlock } from '../support/active-env.js';
import { agentCall, buildTinyGuest, makeGuestDataDisk, tinyGuestXml, waitForAgent } from '../support/tiny-guest.js';
import { groupWorld } from './group-world.js';

const run = promisify(execFile);
const NAMES = ['qa', 'qb'];
const Q = C.DISK_ONLY | C.QUIESCE;
const group = (name: string): string => `<groupsnapshot><name>${name}</name></groupsnapshot>`;

/** The agent socket of a running domain of `env`. */
function agentSocket(env: QemuTestEnv, dom: Domain): string {
  return qemuRuntimePaths(runtimeDirFor(env.stateDir, dom.getUUIDString())).guestAgentSocket;
}

/** Two running tiny guests, each with its agent answering and some lines written. */
async function twoGuests(env: QemuTestEnv): Promise<{ doms: Domain[]; data: Record<string, string> }> {
  await buildTinyGuest();
  const doms: Domain[] = [];
  const data: Record<string, string> = {};
  for (const name of NAMES) {
    const dir = join(env.imageDir, name);
    await mkdir(dir);
    data[name] = await makeGuestDataDisk(dir);
    const dom = await env.conn.domainDefineXML(tinyGuestXml(data[name]).replace('<name>guest</name>', `<name>${name}</name>`));
    await dom.create();
    doms.push(dom);
  }
  for (const dom of doms) await waitForAgent(agentSocket(env, dom));
  // Let the writer loops put lines (and journal transactions) on the disks.
  await new Promise((r) => setTimeout(r, 1000));
  return { doms, data };
}

async function freezeStatus(env: QemuTestEnv, doms: Domain[]): Promise<unknown[]> {
  return Promise.all(doms.map((d) => agentCall(agentSocket(env, d), 'guest-fsfreeze-status')));
}

async function runState(doms: Domain[]): Promise<number[]> {
  return Promise.all(doms.map(async (d) => (await d.getState()).state));
}

/** Everything a failed group create must leave as it was. */
async function picture(env: QemuTestEnv, doms: Domain[]): Promise<unknown> {
  return { world: await groupWorld(env, NAMES), blocks: await Promise.all(doms.map((d) => queryBlock(d))) };
}

test('quiesced group create: both guests frozen, then thawed; a failure after the freeze, or in a freeze, thaws both', async (t) => {
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const { doms, data } = await twoGuests(env);

  await env.conn.groupSnapshotCreateXML(doms, group('q'), Q);
  assert.deepEqual(await freezeStatus(env, doms), ['thawed', 'thawed']);
  assert.deepEqual(await runState(doms), [DomainState.RUNNING, DomainState.RUNNING]);
  for (const dom of doms) {
    // The freeze of each guest froze its one real filesystem (/mnt/data on vda), as recorded.
    assert.deepEqual(await (await dom.snapshotLookupByName('q')).getQuiesceInfo(), { quiesced: true, frozenFilesystems: 1 }, dom.getName());
  }
  assert.deepEqual((await (await env.conn.groupSnapshotLookupByName('q')).getInfo()).state, 'disk-snapshot');
  // Each member's image below its new overlay is a clean filesystem: nothing to replay.
  for (const name of NAMES) {
    const raw = join(env.imageDir, `${name}.raw`);
    await run('qemu-img', ['convert', '-U', '-O', 'raw', data[name]!, raw]);
    assert.doesNotMatch((await run('dumpe2fs', ['-h', raw])).stdout, /needs_recovery/, name);
    await run('e2fsck', ['-fn', raw]); // exit status 0: no errors
  }

  // The CLI: group-snapshot-create … --disk-only --quiesce.
  let out = '';
  let err = '';
  const saved = process.env.SNAPVIRT_STATE_DIR;
  process.env.SNAPVIRT_STATE_DIR = env.stateDir;
  try {
    const status = await main(['-c', 'qemu:///session', 'group-snapshot-create', 'c', ...NAMES, '--disk-only', '--quiesce'],
      { out: (x) => { out += x; }, err: (x) => { err += x; } });
    assert.equal(status, 0, err);
  } finally {
    if (saved === undefined) delete process.env.SNAPVIRT_STATE_DIR;
    else process.env.SNAPVIRT_STATE_DIR = saved;
  }
  assert.equal(out, 'Group snapshot c created\n\n');
  assert.deepEqual(await freezeStatus(env, doms), ['thawed', 'thawed']);
  for (const dom of doms) assert.deepEqual(await (await dom.snapshotLookupByName('c')).getQuiesceInfo(), { quiesced: true, frozenFilesystems: 1 });

  // A failure after both freezes and the vCPU stop: nothing changes, both run thawed.
  const before = await picture(env, doms);
  process.env.SNAPVIRT_FAILPOINTS = 'group-create.switch.before=error';
  try {
    await assert.rejects(env.conn.groupSnapshotCreateXML(doms, group('f'), Q),
      (e: unknown) => isVirError(e) && e.code === VirErrorCode.INTERNAL_ERROR);
  } finally {
    delete process.env.SNAPVIRT_FAILPOINTS;
  }
  assert.deepEqual(await picture(env, doms), before);
  assert.deepEqual(await freezeStatus(env, doms), ['thawed', 'thawed']);
  assert.deepEqual(await runState(doms), [DomainState.RUNNING, DomainState.RUNNING]);

  // The second member's freeze fails (its agent refuses a second freeze): the agent's error
  // as libvirt reports it, the first member (already frozen) and the second thawed.
  const [first, second] = [...doms].sort((a, b) => a.getUUIDString().localeCompare(b.getUUIDString()));
  await agentCall(agentSocket(env, second!), 'guest-fsfreeze-freeze');
  assert.equal(await agentCall(agentSocket(env, second!), 'guest-fsfreeze-status'), 'frozen');
  await assert.rejects(env.conn.groupSnapshotCreateXML(doms, group('g'), Q), (e: unknown) => {
    assert.ok(isVirError(e) && e.code === VirErrorCode.INTERNAL_ERROR, String(e));
    assert.match(e.message, /^internal error: unable to execute QEMU agent command 'guest-fsfreeze-freeze': /);
    return true;
  });
  assert.deepEqual(await freezeStatus(env, [first!, second!]), ['thawed', 'thawed']);
  assert.deepEqual(await picture(env, doms), before);
  assert.deepEqual(await runState(doms), [DomainState.RUNNING, DomainState.RUNNING]);

  // A paused member cannot answer a freeze: refused as libvirt refuses an agent command then.
  await doms[1]!.suspend();
  await assert.rejects(env.conn.groupSnapshotCreateXML(doms, group('p'), Q), (e: unknown) => {
    assert.ok(isVirError(e) && e.code === VirErrorCode.OPERATION_INVALID, String(e));
    assert.equal(e.message, 'Requested operation is not valid: domain is not running');
    return true;
  });
  assert.deepEqual(await runState(doms), [DomainState.RUNNING, DomainState.PAUSED]);
  await doms[1]!.resume();
  assert.deepEqual(await picture(env, doms), before);

  // A running member without a guest agent channel: refused before anything is touched.
  const images = await makeImages(env.imageDir, 'plain', ['qcow2'], 16 << 20);
  const plain = await env.conn.domainDefineXML(domainXml('plain', images));
  await plain.create();
  const withPlain = await picture(env, doms);
  await assert.rejects(env.conn.groupSnapshotCreateXML([doms[0]!, plain], group('n'), Q), (e: unknown) => {
    assert.ok(isVirError(e) && e.code === VirErrorCode.ARGUMENT_UNSUPPORTED, String(e));
    assert.equal(e.message, 'argument unsupported: QEMU guest agent is not configured');
    return true;
  });
  assert.deepEqual(await picture(env, doms), withPlain);
  assert.deepEqual(await plain.snapshotListNames(), []);
  assert.deepEqual(await freezeStatus(env, doms), ['thawed', 'thawed']);

  // Killed with both guests frozen, right before the switch (each guest's vCPUs stop at
  // the start of its own switch, so they still run): the next open thaws both and undoes
  // the group.
  const socks = doms.map((d) => agentSocket(env, d));
  await plain.destroy();
  const child = await runChildOp(env.stateDir, 'group-create.switch.before=crash', ['group-create', NAMES.join(','), group('k'), String(Q)]);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  assert.deepEqual(await Promise.all(socks.map((sock) => agentCall(sock, 'guest-fsfreeze-status', undefined, 2000))), ['frozen', 'frozen'],
    'the killed process left the guests frozen');
  const reopened = await env.reopen();
  const again = await Promise.all(NAMES.map((n) => reopened.domainLookupByName(n)));
  assert.deepEqual(await Promise.all(socks.map((sock) => agentCall(sock, 'guest-fsfreeze-status'))), ['thawed', 'thawed']);
  assert.deepEqual(await runState(again), [DomainState.RUNNING, DomainState.RUNNING]);
  assert.deepEqual(await picture(env, again), withPlain);
});
