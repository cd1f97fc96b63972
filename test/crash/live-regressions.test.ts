/**
 * Single cases of the live crash matrix that found bugs, kept as fixed tests so that
 * npm test runs them whatever the seed samples:
 *
 * - A crash after the memory of an external snapshot (--memspec) was saved: the save
 *   records "paused (creating snapshot)" for other processes, and recovery, which resumes
 *   the guest, must put the recorded reason back too (the domain came back as
 *   "running (unknown)").
 * - A crash just after the commit of an external snapshot with memory: the guest, paused
 *   by the save (QEMU's postmigrate), must be resumed by recovery; it stayed paused.
 * - A revert to an external snapshot of a running domain rolled back before its switch:
 *   the new QEMU prepared beside the old one is stopped, and its runtime directory (with
 *   its log) must go too (it was left in the state directory).
 * - A crash just after the commit of a disk-only snapshot with --halt: the snapshot is
 *   taken, so the domain must end shut off (from snapshot); it was left running, because
 *   the halt came after the operation instead of inside it.
 * - An error after a live group revert stopped an old QEMU (its switch marker written):
 *   the revert is decided, so it must finish forward in process, as recovery does; it was
 *   rolled back, leaving the old QEMU stopped and the new images gone (neither side).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outcomeText, runChild } from './crash-world.js';
import { pictureOfLiveWorld, resetLiveWorld, type LiveWorld } from './live-world.js';
import { GROUP_REVERT_LIVE } from './live-scenarios.js';
import { liveWorldForTest } from './live-world-for-test.js';
import { describeDifference } from './world-state.js';

/** Builds the world of live scenario `name`, runs its operation with `failpoints` (none: it must succeed), recovers, and returns the world. */
async function runOneCase(
  t: { after(fn: () => Promise<void>): void }, name: string, failpoints: string, crashes: boolean, succeeds = false,
): Promise<LiveWorld> {
  const w = await liveWorldForTest(t, 'snapvirt-live-regression-', name);
  await resetLiveWorld(w);
  const op = await runChild(w.dirs.stateDir, w.op, failpoints);
  if (crashes) assert.equal(op.signal, 'SIGKILL', outcomeText(op));
  else assert.equal(op.code, succeeds ? 0 : 2, outcomeText(op));
  const recovery = await runChild(w.dirs.stateDir, { op: 'open' }, '');
  assert.equal(recovery.code, 0, outcomeText(recovery));
  return w;
}

test('a crash after the memory of an external snapshot was saved: recovery resumes the guest with its reason (running, booted)', async (t) => {
  const w = await runOneCase(t, 'live create external with memory, 1 disk', 'live-create.switch.before=crash', true);
  assert.equal(w.before.runState, '1:1', 'the world starts running (booted)');
  const picture = await pictureOfLiveWorld(w);
  assert.equal(picture.runState, '1:1', 'run state and reason after recovery');
  assert.equal(JSON.stringify(picture), JSON.stringify(w.before), describeDifference(picture, w.before));
});

test('a revert of a running domain rolled back before its switch leaves no trace of the new QEMU', async (t) => {
  const w = await runOneCase(t, 'live revert external disk-only --running (QEMU restarted), 1 disk', 'live-revert.switch.before=error', false);
  const picture = await pictureOfLiveWorld(w);
  assert.deepEqual(picture.state, w.before.state, 'files of the state directory');
  assert.equal(JSON.stringify(picture), JSON.stringify(w.before), describeDifference(picture, w.before));
});

test('a crash just after the commit of an external snapshot with memory: recovery resumes the guest (wholly after)', async (t) => {
  const name = 'live create external with memory, 1 disk';
  const clean = await runOneCase(t, name, '', false, true);
  const after = await pictureOfLiveWorld(clean);
  assert.equal(after.runState, '1:1', 'a clean run ends running (booted)');
  await resetLiveWorld(clean);
  const crashed = await runChild(clean.dirs.stateDir, clean.op, 'live-create.commit.after=crash');
  assert.equal(crashed.signal, 'SIGKILL', outcomeText(crashed));
  const recovery = await runChild(clean.dirs.stateDir, { op: 'open' }, '');
  assert.equal(recovery.code, 0, outcomeText(recovery));
  const picture = await pictureOfLiveWorld(clean);
  assert.equal(picture.qemu?.status, 'running', 'the guest runs again');
  assert.equal(JSON.stringify(picture), JSON.stringify(after), describeDifference(picture, after));
});

test('--halt, a crash just after the commit: recovery shuts the domain off (from snapshot), as an uninterrupted run does', async (t) => {
  const w = await runOneCase(t, 'live create disk-only --halt, 1 disk', 'live-create.commit.after=crash', true);
  const picture = await pictureOfLiveWorld(w);
  assert.equal(picture.runState, '5:7', 'shut off, from snapshot');
  assert.equal(picture.qemu, null, 'no QEMU left running');
  assert.ok(picture.domain?.snapshots.s1 !== undefined, 'the snapshot is there');
});

test('an error after a live group revert stopped an old QEMU: the revert finishes forward and succeeds (wholly after)', async (t) => {
  const clean = await runOneCase(t, GROUP_REVERT_LIVE.name, '', false, true);
  const after = await pictureOfLiveWorld(clean);
  for (const at of ['@1', '@2']) {
    await resetLiveWorld(clean);
    const op = await runChild(clean.dirs.stateDir, clean.op, `group-live-revert.member.stop.after=error${at}`);
    assert.equal(op.code, 0, `error${at}: ${outcomeText(op)}`);
    const recovery = await runChild(clean.dirs.stateDir, { op: 'open' }, '');
    assert.equal(recovery.code, 0, outcomeText(recovery));
    const picture = await pictureOfLiveWorld(clean);
    assert.equal(JSON.stringify(picture), JSON.stringify(after), `error${at}: ${describeDifference(picture, after)}`);
  }
});
