/**
 * Full-system internal snapshots of running domains (snapshot-save), revert with
 * snapshot-load (running, paused, and from shut off), delete while running, --halt, and
 * all-or-nothing: a failure or a killed process before the metadata commit leaves no tag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainState, PausedReason, RunningReason, ShutoffReason, SnapshotCreateFlags as C } from '../../../../../src/api/flags.js';
import { VirError } from '../../../../../src/api/errors.js';
import { hasPattern } from '../../../../helpers/qemu-io.js';
import { runChildOp } from '../../../../helpers/run-child-op.js';
import { guestWriteVia, makeRunningEnv, type RunningEnv } from '../../support/active-env.js';

const K64 = 64 * 1024;
const snapXml = (name: string): string => `<domainsnapshot><name>${name}</name></domainsnapshot>`;

/** The internal snapshot tags QEMU sees on all disks (HMP info snapshots). */
async function tagsInQemu(r: RunningEnv): Promise<string[]> {
  const text = await r.dom.qemuMonitorCommand('info snapshots', 1);
  return [...text.matchAll(/^--\s+(\S+)/gm)].map((m) => m[1]!).sort();
}

test('internal snapshot with memory: save, revert (running/paused/from shut off), delete, --halt', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  const { dom, disks } = r;
  await dom.create();
  for (const [i, d] of disks.entries()) await guestWriteVia(dom, d.target, 0x31 + i, 0, '64k');
  const m1 = await dom.snapshotCreateXML(snapXml('m1'));
  const xml = await m1.getXMLDesc();
  assert.match(xml, /<state>running<\/state>/);
  assert.match(xml, /<memory snapshot='internal'\/>/);
  assert.match(xml, /<disk name='vda' snapshot='internal'\/>/);
  assert.match(xml, /<disk name='vdb' snapshot='internal'\/>/);
  assert.deepEqual(await tagsInQemu(r), ['m1']);
  assert.match(await dom.qemuMonitorCommand('info snapshots', 1), /m1\s+\d+(\.\d+)? [KM]iB/, 'the vmstate is in the image');
  assert.equal((await dom.getState()).state, DomainState.RUNNING);

  for (const [i, d] of disks.entries()) await guestWriteVia(dom, d.target, 0x71 + i, 0, '64k');
  await m1.revert();
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT });
  await dom.suspend();
  const p1 = await dom.snapshotCreateXML(snapXml('p1'));
  assert.match(await p1.getXMLDesc(), /<state>paused<\/state>/);
  await dom.resume();
  await p1.revert();
  assert.deepEqual(await dom.getState(), { state: DomainState.PAUSED, reason: PausedReason.FROM_SNAPSHOT });
  await dom.destroy();
  for (const [i, d] of disks.entries()) assert.ok(await hasPattern(d.path, 'qcow2', 0x31 + i, 0, K64), `${d.target}: the later write is reverted`);

  // From shut off: QEMU is started and loads the state.
  await m1.revert();
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT });
  assert.equal((await dom.snapshotCurrent()).getName(), 'm1');

  await p1.delete();
  assert.deepEqual(await tagsInQemu(r), ['m1']);
  assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.getName()), ['m1']);

  const h = await dom.snapshotCreateXML(snapXml('h'), C.HALT);
  assert.match(await h.getXMLDesc(), /<state>running<\/state>/);
  assert.deepEqual(await dom.getState(), { state: DomainState.SHUTOFF, reason: ShutoffReason.FROM_SNAPSHOT });
});

test('internal snapshot with memory is all or nothing: failure before the commit, killed process', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  await dom.create();
  const saved = process.env.SNAPVIRT_FAILPOINTS;
  process.env.SNAPVIRT_FAILPOINTS = 'live-save.commit.before=error';
  try {
    await assert.rejects(dom.snapshotCreateXML(snapXml('f1')), (e: unknown) => e instanceof VirError && /failpoint/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.SNAPVIRT_FAILPOINTS;
    else process.env.SNAPVIRT_FAILPOINTS = saved;
  }
  assert.deepEqual(await tagsInQemu(r), []);
  assert.deepEqual(await dom.snapshotListNames(), []);

  const child = await runChildOp(env.stateDir, 'live-save.prepare.step.after=crash', ['create', 'vm', snapXml('f2'), '0']);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  assert.deepEqual(await tagsInQemu(r), ['f2'], 'the killed process left its tag');
  const conn = await env.reopen();
  const again = await conn.domainLookupByName('vm');
  assert.deepEqual(await tagsInQemu({ ...r, dom: again }), [], 'recovery removed it');
  assert.deepEqual(await again.snapshotListNames(), []);
  assert.equal((await again.getState()).state, DomainState.RUNNING);
});
