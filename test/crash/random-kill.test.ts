/**
 * Seeded random SIGKILLs on top of the failpoint matrix (ecosystem.md §5.2 item 6), where
 * failpoints cannot reach: in the middle of a long merge (deleting an external snapshot
 * whose overlay holds 16 MiB of data, so qemu-img commit runs for a while), and in the
 * middle of recovery finishing that merge. The whole process group dies, qemu-img
 * included, as in a machine crash. Whatever the moment, after recovery in a new process
 * the world is wholly before or wholly after (after, once the commit point passed).
 *
 * The same random kills also land on the operations of the crash matrix (scenarios.ts),
 * in the middle of qemu-img runs (a tag being applied, an overlay being written).
 *
 * Delays are drawn from the measured length of a clean run, only to spread the kills;
 * nothing asserts on time. SNAPVIRT_CRASH_SEED replays a run; SNAPVIRT_CRASH_FULL=1 kills more often.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import {
  buildWorld, DOMAIN, killGroup, outcomeText, resetWorld, runChild, startChild, type BuiltWorld, type Scenario,
} from './crash-world.js';
import { fastTempDir } from './fast-temp-dir.js';
import { killRecoveryThenFinish } from './recovery-kills.js';
import { prng, sampleOf } from './seeded.js';
import { SCENARIOS } from './scenarios.js';
import { classify, describeDifference, pictureOf, type WorldPicture } from './world-state.js';

const FULL = process.env.SNAPVIRT_CRASH_FULL === '1';
const SEED = Number(process.env.SNAPVIRT_CRASH_SEED ?? 20261125);
const KILLS = FULL ? 40 : 4;

const MiB = 1 << 20;

/** Two disks; snapshot A's overlay gets 16 MiB of data, then B; deleting A merges 16 MiB per disk. */
const LONG_MERGE: Scenario = {
  name: 'delete external middle with 16 MiB to merge, 2 disks',
  disks: 2,
  diskBytes: 20 * MiB,
  writeBytes: 16 * MiB,
  async prepare(ctx) {
    await ctx.dom.snapshotCreateXML('<domainsnapshot><name>A</name></domainsnapshot>', C.DISK_ONLY);
    await ctx.writeData();
    await ctx.dom.snapshotCreateXML('<domainsnapshot><name>B</name></domainsnapshot>', C.DISK_ONLY);
    await ctx.writeData();
    return { op: 'delete', domain: DOMAIN, snapshot: 'A', flags: 0 };
  },
};

interface Prepared {
  world: BuiltWorld;
  after: WorldPicture;
  /** How long a clean run of the operation took, to spread the kills over. */
  opMs: number;
}

async function prepare(base: string): Promise<Prepared> {
  const world = await buildWorld(base, LONG_MERGE);
  await resetWorld(world);
  const started = Date.now();
  const clean = await runChild(world.dirs.stateDir, world.op, '');
  const opMs = Date.now() - started;
  assert.equal(clean.code, 0, outcomeText(clean));
  const after = await pictureOf(world.dirs, DOMAIN);
  return { world, after, opMs };
}

function check(p: Prepared, picture: WorldPicture, label: string, mustBe?: 'after'): void {
  const side = classify(picture, p.world.before, p.after);
  assert.ok(side !== undefined, `seed ${SEED} ${label}: neither before nor after:\n${describeDifference(picture, p.after)}`);
  if (mustBe) assert.equal(side, mustBe, `seed ${SEED} ${label}: wholly ${side}, expected ${mustBe}`);
}

test(`random SIGKILL during a long merge (seed ${SEED})`, async (t) => {
  const tmp = await fastTempDir('snapvirt-kill-');
  t.after(() => tmp.cleanup());
  const p = await prepare(tmp.path);
  const rand = prng(SEED);
  const seen = { before: 0, after: 0, finished: 0 };
  for (let i = 0; i < KILLS; i++) {
    await resetWorld(p.world);
    const delay = Math.floor(rand() * p.opMs);
    const running = startChild(p.world.dirs.stateDir, p.world.op, '');
    await sleep(delay);
    killGroup(running);
    const end = await running.done;
    const label = `kill ${i} at ${delay} ms of ${p.opMs}`;
    assert.ok(!end.hung && end.code !== 3, `${label}: ${outcomeText(end)}`);
    const recovery = await runChild(p.world.dirs.stateDir, { op: 'open' }, '');
    assert.equal(recovery.code, 0, `seed ${SEED} ${label}: recovery failed: ${outcomeText(recovery)}`);
    const picture = await pictureOf(p.world.dirs, DOMAIN);
    const finished = end.code === 0;
    check(p, picture, label, finished ? 'after' : undefined);
    if (finished) seen.finished++;
    seen[classify(picture, p.world.before, p.after)!]++;
  }
  t.diagnostic(`${KILLS} kills: ${seen.before} wholly before, ${seen.after} wholly after (${seen.finished} had finished)`);
  assert.equal(seen.before + seen.after, KILLS);
});

test(`random SIGKILL during recovery of an interrupted merge (seed ${SEED})`, async (t) => {
  const tmp = await fastTempDir('snapvirt-kill-');
  t.after(() => tmp.cleanup());
  const p = await prepare(tmp.path);
  const stateDir = p.world.dirs.stateDir;
  // Past the commit point with the merge not started: recovery has the whole merge to do.
  const crashAfterCommit = async (): Promise<void> => {
    await resetWorld(p.world);
    const crashed = await runChild(stateDir, p.world.op, 'delete.commit.after=crash');
    assert.equal(crashed.signal, 'SIGKILL', outcomeText(crashed));
  };
  await crashAfterCommit();
  const started = Date.now();
  const clean = await runChild(stateDir, { op: 'open' }, '');
  const recoveryMs = Date.now() - started;
  assert.equal(clean.code, 0, outcomeText(clean));
  check(p, await pictureOf(p.world.dirs, DOMAIN), 'uninterrupted recovery', 'after');

  const rand = prng(SEED ^ 0x5a5a);
  // Several kills in a row on the same world: each recovery resumes what the last one left.
  for (let round = 0; round < (FULL ? 14 : 1); round++) {
    await crashAfterCommit();
    const delays = await killRecoveryThenFinish(stateDir, rand, recoveryMs, `seed ${SEED} round ${round}`);
    check(p, await pictureOf(p.world.dirs, DOMAIN), `round ${round} (recovery killed at ${delays.join(', ')} ms)`, 'after');
  }
});

/** Kills per matrix operation, and how many operations (all of them in the full run). */
const KILLS_PER_OPERATION = FULL ? 12 : 3;
const ONLY = process.env.SNAPVIRT_CRASH_ONLY;
const OPERATIONS = ONLY ? SCENARIOS.filter((s) => s.name.includes(ONLY))
  : FULL ? SCENARIOS : sampleOf(prng(SEED ^ 0x1234), SCENARIOS, 1);

for (const scenario of OPERATIONS) {
  test(`random SIGKILL during ${scenario.name} (seed ${SEED})`, async (t) => {
    const tmp = await fastTempDir('snapvirt-kill-');
    t.after(() => tmp.cleanup());
    const world = await buildWorld(tmp.path, scenario);
    await resetWorld(world);
    const started = Date.now();
    const clean = await runChild(world.dirs.stateDir, world.op, '');
    const opMs = Date.now() - started;
    assert.equal(clean.code, 0, outcomeText(clean));
    const p: Prepared = { world, after: await pictureOf(world.dirs, DOMAIN), opMs };
    const rand = prng(SEED + scenario.name.length);
    const seen = { before: 0, after: 0 };
    for (let i = 0; i < KILLS_PER_OPERATION; i++) {
      await resetWorld(world);
      const delay = Math.floor(rand() * opMs);
      const running = startChild(world.dirs.stateDir, world.op, '');
      await sleep(delay);
      killGroup(running);
      const end = await running.done;
      const label = `kill ${i} at ${delay} ms of ${opMs}`;
      assert.ok(!end.hung && end.code !== 3, `${label}: ${outcomeText(end)}`);
      const recovery = await runChild(world.dirs.stateDir, { op: 'open' }, '');
      assert.equal(recovery.code, 0, `seed ${SEED} ${label}: recovery failed: ${outcomeText(recovery)}`);
      const picture = await pictureOf(world.dirs, DOMAIN);
      check(p, picture, label, end.code === 0 ? 'after' : undefined);
      seen[classify(picture, world.before, p.after)!]++;
    }
    t.diagnostic(`${scenario.name}: ${KILLS_PER_OPERATION} kills, ${seen.before} wholly before, ${seen.after} wholly after`);
  });
}
