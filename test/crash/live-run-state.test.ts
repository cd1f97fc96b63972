/**
 * A crash in the middle of an external snapshot with memory (--memspec) must leave the
 * domain's run state and reason as they were: the save pauses the guest and records
 * "paused (creating snapshot)" for other processes to see, and recovery, which resumes
 * the guest, must put the recorded reason back too (found by the live crash matrix: the
 * domain came back as "running (unknown)").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { killAllQemu } from '../drivers/qemu/live/running-env.js';
import { outcomeText, runChild } from './crash-world.js';
import { fastTempDir } from './fast-temp-dir.js';
import { buildLiveWorld, pictureOfLiveWorld, resetLiveWorld } from './live-world.js';
import { LIVE_SCENARIOS } from './live-scenarios.js';
import { describeDifference } from './world-state.js';

test('a crash after the memory of an external snapshot was saved: recovery resumes the guest with its reason (running, booted)', async (t) => {
  const tmp = await fastTempDir('snapvirt-live-state-');
  t.after(async () => {
    await killAllQemu(join(tmp.path, 'w', 'state'));
    await tmp.cleanup();
  });
  const scenario = LIVE_SCENARIOS.find((s) => s.name === 'live create external with memory, 1 disk')!;
  const w = await buildLiveWorld(tmp.path, scenario);
  assert.equal(w.before.runState, '1:1', 'the world starts running (booted)');
  await resetLiveWorld(w);
  const crashed = await runChild(w.dirs.stateDir, w.op, 'live-create.switch.before=crash');
  assert.equal(crashed.signal, 'SIGKILL', outcomeText(crashed));
  const recovery = await runChild(w.dirs.stateDir, { op: 'open' }, '');
  assert.equal(recovery.code, 0, outcomeText(recovery));
  const picture = await pictureOfLiveWorld(w);
  assert.equal(picture.runState, '1:1', 'run state and reason after recovery');
  assert.equal(JSON.stringify(picture), JSON.stringify(w.before), describeDifference(picture, w.before));
});
