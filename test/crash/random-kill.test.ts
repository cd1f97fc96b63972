/**
 * Seeded random SIGKILLs on top of the failpoint matrix, where failpoints cannot reach: in
 * the middle of a long merge (deleting an external snapshot whose overlay holds 16 MiB of
 * data, so qemu-img commit runs for a while), in the middle of recovery finishing that
 * merge, and in the middle of every operation of the crash matrix (scenarios.ts: a tag
 * being applied, an overlay being written, k of N disks done). The whole process group
 * dies, qemu-img included, as in a machine crash. Whatever the moment, after recovery in
 * a new process the world is wholly before or wholly after (after, once the commit point
 * passed).
 *
 * Each kill is aimed at a phase of the protocol and records where it landed, from the
 * failpoints the child reached (phase-kills.ts): before journal, prepare (k of N disks),
 * commit, after. The delays are drawn from that phase's length in a clean run, with the
 * clock started when the phase starts; nothing asserts on time. The last test prints the
 * distribution and fails unless every phase was hit. SNAPVIRT_CRASH_SEED replays a run;
 * SNAPVIRT_CRASH_FULL=1 kills more often and on every operation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import { buildWorld, DOMAIN, outcomeText, resetWorld, runChild, startChild, worldPictureOf, type BuiltWorld, type Scenario } from './crash-world.js';
import { fastTempDir } from './fast-temp-dir.js';
import {
  distributionText, killEveryPhase, killFromSpawn, killInPhase, missingPhases, phasePlanOf, type Kill, type Landing, type PhasePlan,
} from './phase-kills.js';
import { recordCrashResult, recordingKillFailure } from './crash-results.js';
import { killRecoveryThenFinish } from './recovery-kills.js';
import { prng, sampleOf } from './seeded.js';
import { SCENARIOS } from './scenarios.js';
import { classify, describeDifference, type WorldPicture } from './world-state.js';

const FULL = process.env.SNAPVIRT_CRASH_FULL === '1';
const SEED = Number(process.env.SNAPVIRT_CRASH_SEED ?? 20261125);
/** Kills aimed at each phase of the long merge (most land in the merge itself, after the commit). */
const MERGE_ROUNDS = FULL ? 10 : 1;
/** Every landing of this file, for the distribution and the coverage check at the end. */
const landings: Landing[] = [];

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
  /** The operation's phases, from a clean run. */
  plan: PhasePlan;
}

/** Runs the operation once without failpoints (from a pristine world) and reads its phases. */
async function cleanRun(world: BuiltWorld): Promise<Prepared> {
  await resetWorld(world);
  const started = performance.now();
  const running = startChild(world.dirs.stateDir, world.op, '', { liveTrace: true });
  const clean = await running.done;
  assert.equal(clean.code, 0, outcomeText(clean));
  const plan = phasePlanOf(running.points, performance.now() - started);
  return { world, after: await worldPictureOf(world.dirs, world.scenario), plan };
}

function check(p: Prepared, picture: WorldPicture, label: string, mustBe?: 'after'): void {
  const side = classify(picture, p.world.before, p.after);
  assert.ok(side !== undefined, `seed ${SEED} ${label}: neither before nor after:\n${describeDifference(picture, p.after)}`);
  if (mustBe) assert.equal(side, mustBe, `seed ${SEED} ${label}: wholly ${side}, expected ${mustBe}`);
}

/** After a kill: recovery in a new process, then wholly before or after (after if it had finished or committed). */
async function recoverAndCheck(p: Prepared, k: Kill, label: string): Promise<'before' | 'after'> {
  assert.ok(!k.end.hung && k.end.code !== 3, `seed ${SEED} ${label}: ${outcomeText(k.end)}`);
  const recovery = await runChild(p.world.dirs.stateDir, { op: 'open' }, '');
  assert.equal(recovery.code, 0, `seed ${SEED} ${label}: recovery failed: ${outcomeText(recovery)}`);
  const picture = await worldPictureOf(p.world.dirs, p.world.scenario);
  check(p, picture, label, k.end.code === 0 || k.landing.phase === 'after' ? 'after' : undefined);
  return classify(picture, p.world.before, p.after)!;
}

/** Kills aimed at every phase of `p`'s operation, `rounds` times; returns wholly-before/after counts. */
async function killsOver(p: Prepared, rand: () => number, rounds: number): Promise<{ before: number; after: number; landed: Landing[] }> {
  const seen = { before: 0, after: 0 };
  const { stateDir } = p.world.dirs;
  const landed = await killEveryPhase(p.plan, rand, rounds, async (span, delay) => {
    await resetWorld(p.world);
    return killInPhase(stateDir, p.world.op, p.plan, span, delay);
  }, async (k, label) => { seen[await recoverAndCheck(p, k, label)]++; });
  landings.push(...landed);
  return { ...seen, landed };
}

test(`random SIGKILL during a long merge (seed ${SEED})`, async (t) => {
  const tmp = await fastTempDir('snapvirt-kill-');
  t.after(() => tmp.cleanup());
  const p = await cleanRun(await buildWorld(tmp.path, LONG_MERGE));
  const { before, after, landed } = await killsOver(p, prng(SEED), MERGE_ROUNDS);
  t.diagnostic(`${landed.length} kills: ${before} wholly before, ${after} wholly after; landed: ${distributionText(landed)}`);
  if (FULL) recordCrashResult('random-kill', { operation: LONG_MERGE.name, kills: landed.length, landed: distributionText(landed) });
  assert.deepEqual(missingPhases(landed, p.plan.spans.map((s) => s.phase)), [], 'a phase of the merge was never hit');
});

test(`random SIGKILL during recovery of an interrupted merge (seed ${SEED})`, async (t) => {
  const tmp = await fastTempDir('snapvirt-kill-');
  t.after(() => tmp.cleanup());
  const p = await cleanRun(await buildWorld(tmp.path, LONG_MERGE));
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
  check(p, await worldPictureOf(p.world.dirs, p.world.scenario), 'uninterrupted recovery', 'after');

  const rand = prng(SEED ^ 0x5a5a);
  // Several kills in a row on the same world: each recovery resumes what the last one left.
  for (let round = 0; round < (FULL ? 14 : 1); round++) {
    await crashAfterCommit();
    const delays = await killRecoveryThenFinish(stateDir, rand, recoveryMs, `seed ${SEED} round ${round}`);
    check(p, await worldPictureOf(p.world.dirs, p.world.scenario), `round ${round} (recovery killed at ${delays.join(', ')} ms)`, 'after');
  }
});

/** Rounds of kills (one aimed at each phase) per matrix operation, and how many operations (all in the full run). */
const ROUNDS_PER_OPERATION = FULL ? 3 : 1;
const ONLY = process.env.SNAPVIRT_CRASH_ONLY;
/**
 * By default one create or revert, picked by the seed: their prepare runs on every disk at
 * once, so kills land with k of N disks done. The full run takes every operation.
 */
const ON_DISKS = SCENARIOS.filter((s) => /^(create|revert)\b/.test(s.name));
const OPERATIONS = ONLY ? SCENARIOS.filter((s) => s.name.includes(ONLY))
  : FULL ? SCENARIOS : sampleOf(prng(SEED ^ 0x1234), ON_DISKS, 1);

for (const scenario of OPERATIONS) {
  test(`random SIGKILL during ${scenario.name} (seed ${SEED})`, async (t) => {
    const tmp = await fastTempDir('snapvirt-kill-');
    t.after(() => tmp.cleanup());
    const p = await cleanRun(await buildWorld(tmp.path, scenario));
    const rand = prng(SEED + scenario.name.length);
    if (p.plan.kind === undefined) {
      // One SQLite transaction under the lock, no journal: kills anywhere from spawn.
      for (let i = 0; i < 4 * ROUNDS_PER_OPERATION; i++) {
        await resetWorld(p.world);
        const delay = Math.floor(rand() * p.plan.totalMs);
        const k = await killFromSpawn(p.world.dirs.stateDir, p.world.op, p.plan, delay);
        await recoverAndCheck(p, k, `kill ${i} at ${delay} ms of ${Math.round(p.plan.totalMs)} from spawn`);
      }
      t.diagnostic(`${scenario.name}: journals nothing (one SQLite transaction); ${4 * ROUNDS_PER_OPERATION} kills from spawn`);
      if (FULL) recordCrashResult('random-kill', { operation: scenario.name, kills: 4 * ROUNDS_PER_OPERATION, landed: 'anywhere from spawn (no journal: one SQLite transaction)' });
      return;
    }
    const { before, after, landed } = await recordingKillFailure('random-kill', scenario.name, () => killsOver(p, rand, ROUNDS_PER_OPERATION));
    t.diagnostic(`${scenario.name}: ${landed.length} kills, ${before} wholly before, ${after} wholly after; landed: ${distributionText(landed)}`);
    if (FULL) recordCrashResult('random-kill', { operation: scenario.name, kills: landed.length, landed: distributionText(landed) });
    assert.deepEqual(missingPhases(landed, p.plan.spans.map((s) => s.phase)), [], 'a phase was never hit');
  });
}

test('random kills: where they landed', () => {
  const line = `random kills (${FULL ? 'full' : `sample, seed ${SEED}`}): ${landings.length} kills landed in: ${distributionText(landings)}`;
  console.log(line);
  // Offline operations have no live switch: every other phase must have been hit.
  const expected = ONLY ? [] : (['before journal', 'prepare', 'commit', 'after'] as const);
  assert.deepEqual(missingPhases(landings, expected), [], `phases no kill landed in (${line})`);
});
