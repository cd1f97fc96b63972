/**
 * Seeded random SIGKILLs during live operations: a disk-only snapshot of 2 running disks
 * (its switch is one QMP transaction), and long live merges: deleting an external
 * snapshot of a running domain whose overlays hold 20 MiB of guest data per disk, so
 * block-commit runs in QEMU for a while, active (the snapshot is the disks' top layer)
 * and intermediate (a later snapshot sits above it). The snapvirt process group is killed
 * at a seeded random moment; QEMU, which runs detached as a real domain does, lives on
 * with whatever block job it had. Then, and also after kills in the middle of recovery
 * finishing an interrupted merge (three in a row on the same world), a new process
 * recovers, and the world must be wholly before or after (after, once the commit point
 * passed), with every pattern the guest wrote still read back.
 *
 * Each kill during an operation is aimed at a phase and records where it landed, from the
 * failpoints the child reached (phase-kills.ts): before journal, prepare (k of N disks),
 * switch, commit, after; delays are drawn from the phase's length in a clean run, with
 * the clock started when the phase starts, and nothing asserts on time. The last test
 * prints the distribution and fails unless every phase was hit. SNAPVIRT_CRASH_SEED
 * replays a run; SNAPVIRT_CRASH_FULL=1 kills more often.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import { killAllQemu } from '../drivers/qemu/support/active-env.js';
import { DOMAIN, outcomeText, runChild, startChild } from './crash-world.js';
import { fastTempDir } from './fast-temp-dir.js';
import {
  distributionText, killEveryPhase, killInPhase, missingPhases, PHASES, phasePlanOf, type Kill, type Landing, type PhasePlan,
} from './phase-kills.js';
import { recordCrashResult, recordingKillFailure } from './crash-results.js';
import { killRecoveryThenFinish } from './recovery-kills.js';
import type { LivePicture } from './live-picture.js';
import { buildLiveWorld, pictureOfLiveWorld, resetLiveWorld, type LiveScenario, type LiveWorld } from './live-world.js';
import { prng, sampleOf } from './seeded.js';
import { classify, describeDifference } from './world-state.js';

const FULL = process.env.SNAPVIRT_CRASH_FULL === '1';
const SEED = Number(process.env.SNAPVIRT_CRASH_SEED ?? 20261125);
/** Rounds of kills, one aimed at each phase of the operation. */
const ROUNDS = FULL ? 4 : 1;
const RECOVERY_ROUNDS = FULL ? 6 : 1;
const ONLY = process.env.SNAPVIRT_CRASH_ONLY;

const MiB = 1 << 20;

/** Two disks; A, 20 MiB of guest data per disk, B, 20 MiB more; then `victim` is deleted. */
function longMerge(victim: 'A' | 'B'): LiveScenario {
  return {
    name: `live delete ${victim === 'B' ? 'leaf (active' : 'middle (intermediate'} block-commit) with 20 MiB to merge, 2 disks`,
    disks: 2,
    diskBytes: 80 * MiB,
    writeBytes: 20 * MiB,
    async prepare(ctx) {
      await ctx.dom.snapshotCreateXML('<domainsnapshot><name>A</name></domainsnapshot>', C.DISK_ONLY);
      await ctx.writeData();
      await ctx.dom.snapshotCreateXML('<domainsnapshot><name>B</name></domainsnapshot>', C.DISK_ONLY);
      await ctx.writeData();
      return { op: 'delete', domain: DOMAIN, snapshot: victim, flags: 0 };
    },
  };
}

interface Prepared {
  world: LiveWorld;
  after: LivePicture;
  /** The operation's phases, from a clean run. */
  plan: PhasePlan;
}

/** A disk-only snapshot of 2 running disks: the live operation with a switch. */
const LIVE_CREATE: LiveScenario = {
  name: 'live create disk-only, 2 disks',
  disks: 2,
  async prepare(ctx) {
    await ctx.dom.snapshotCreateXML('<domainsnapshot><name>base</name></domainsnapshot>', C.DISK_ONLY);
    await ctx.writeData();
    return { op: 'create', domain: DOMAIN, xml: '<domainsnapshot><name>s1</name></domainsnapshot>', flags: C.DISK_ONLY };
  },
};

/** Every landing of this file, for the distribution and the coverage check at the end. */
const landings: Landing[] = [];

async function prepare(base: string, scenario: LiveScenario): Promise<Prepared> {
  const world = await buildLiveWorld(base, scenario);
  await resetLiveWorld(world);
  const started = performance.now();
  const running = startChild(world.dirs.stateDir, world.op, '', { liveTrace: true });
  const clean = await running.done;
  assert.equal(clean.code, 0, outcomeText(clean));
  const plan = phasePlanOf(running.points, performance.now() - started);
  return { world, after: await pictureOfLiveWorld(world), plan };
}

/** Wholly before or after (`mustBe` when given), and every slot the guest wrote reads its pattern. */
function check(p: Prepared, picture: LivePicture, label: string, mustBe?: 'after'): 'before' | 'after' {
  const side = classify(picture, p.world.before, p.after);
  assert.ok(side !== undefined, `seed ${SEED} ${label}: neither before nor after:\n${describeDifference(picture, p.after)}`);
  if (mustBe) assert.equal(side, mustBe, `seed ${SEED} ${label}: wholly ${side}, expected ${mustBe}`);
  for (const [target, slots] of Object.entries(picture.slots)) {
    const disk = Number(target.charCodeAt(2) - 97);
    const expected = slots.map((_, round) => `0x${((0x11 + round * 16 + disk) & 0xff).toString(16)}`);
    assert.deepEqual(slots, expected, `seed ${SEED} ${label}: guest data of ${target} lost`);
  }
  return side;
}

/** Both merges in the full run; by default the seed picks one. */
const VICTIMS = (['B', 'A'] as const).filter((v) => !ONLY || longMerge(v).name.includes(ONLY));
const chosen = FULL || ONLY ? VICTIMS : sampleOf(prng(SEED ^ 0x3e3e), VICTIMS, 1);

if (!ONLY || LIVE_CREATE.name.includes(ONLY)) {
  test(`random SIGKILL during a ${LIVE_CREATE.name} (seed ${SEED})`, async (t) => {
    const tmp = await fastTempDir('snapvirt-live-kill-');
    t.after(async () => {
      await killAllQemu(join(tmp.path, 'w', 'state'));
      await tmp.cleanup();
    });
    const p = await prepare(tmp.path, LIVE_CREATE);
    await recordingKillFailure('live-random-kill', LIVE_CREATE.name, () => killsDuringOperation(p, prng(SEED ^ 0x7c7c), t.diagnostic.bind(t)));
  });
}

for (const victim of chosen) {
  const scenario = longMerge(victim);

  test(`random SIGKILL during a ${scenario.name}, and during recovery of it (seed ${SEED})`, async (t) => {
    const tmp = await fastTempDir('snapvirt-live-kill-');
    t.after(async () => {
      await killAllQemu(join(tmp.path, 'w', 'state'));
      await tmp.cleanup();
    });
    const p = await prepare(tmp.path, scenario);
    await t.test('kills during the operation', () => recordingKillFailure('live-random-kill', scenario.name,
      () => killsDuringOperation(p, prng(SEED + victim.charCodeAt(0)), t.diagnostic.bind(t))));
    await t.test('kills during recovery of an interrupted merge', () => killsDuringRecovery(p, victim));
  });
}

test('live random kills: where they landed', () => {
  const line = `live random kills (${FULL ? 'full' : `sample, seed ${SEED}`}): ${landings.length} kills landed in: ${distributionText(landings)}`;
  console.log(line);
  assert.deepEqual(missingPhases(landings, ONLY ? [] : PHASES), [], `phases no kill landed in (${line})`);
});

/** Kills aimed at every phase: wholly before or after, after once it reported success or committed. */
async function killsDuringOperation(p: Prepared, rand: () => number, diagnostic: (m: string) => void): Promise<void> {
  const seen = { before: 0, after: 0 };
  const { stateDir } = p.world.dirs;
  const landed = await killEveryPhase(p.plan, rand, ROUNDS, async (span, delay) => {
    await resetLiveWorld(p.world);
    return killInPhase(stateDir, p.world.op, p.plan, span, delay);
  }, async (k: Kill, label: string) => {
    assert.ok(!k.end.hung && k.end.code !== 3, `seed ${SEED} ${label}: ${outcomeText(k.end)}`);
    const recovery = await runChild(stateDir, { op: 'open' }, '');
    assert.equal(recovery.code, 0, `seed ${SEED} ${label}: recovery failed: ${outcomeText(recovery)}`);
    seen[check(p, await pictureOfLiveWorld(p.world), label, k.end.code === 0 || k.landing.phase === 'after' ? 'after' : undefined)]++;
  });
  landings.push(...landed);
  diagnostic(`${p.world.scenario.name}: ${landed.length} kills: ${seen.before} wholly before, ${seen.after} wholly after; landed: ${distributionText(landed)}`);
  if (FULL) recordCrashResult('live-random-kill', { operation: p.world.scenario.name, kills: landed.length, landed: distributionText(landed) });
  assert.deepEqual(missingPhases(landed, p.plan.spans.map((s) => s.phase)), [], 'a phase was never hit');
}

/** Three kills in a row during recovery of a merge interrupted past its commit point, then a recovery: wholly after. */
async function killsDuringRecovery(p: Prepared, victim: 'A' | 'B'): Promise<void> {
  const stateDir = p.world.dirs.stateDir;
  // Past the commit point with no merge started: recovery has every merge to do.
  const crashAfterCommit = async (): Promise<void> => {
    await resetLiveWorld(p.world);
    const crashed = await runChild(stateDir, p.world.op, 'live-delete.commit.after=crash');
    assert.equal(crashed.signal, 'SIGKILL', outcomeText(crashed));
  };
  await crashAfterCommit();
  const started = Date.now();
  const clean = await runChild(stateDir, { op: 'open' }, '');
  const recoveryMs = Date.now() - started;
  assert.equal(clean.code, 0, outcomeText(clean));
  check(p, await pictureOfLiveWorld(p.world), 'uninterrupted recovery', 'after');

  const rand = prng(SEED ^ (0x5a5a + victim.charCodeAt(0)));
  for (let round = 0; round < RECOVERY_ROUNDS; round++) {
    await crashAfterCommit();
    const delays = await killRecoveryThenFinish(stateDir, rand, recoveryMs, `seed ${SEED} round ${round}`);
    check(p, await pictureOfLiveWorld(p.world), `round ${round} (recovery killed at ${delays.join(', ')} ms of ${recoveryMs})`, 'after');
  }
}
