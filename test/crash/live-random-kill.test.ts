/**
 * Seeded random SIGKILLs during long live merges (issue 5, item 3): deleting an external
 * snapshot of a running domain whose overlays hold 20 MiB of guest data per disk, so
 * block-commit runs in QEMU for a while, active (the snapshot is the disks' top layer)
 * and intermediate (a later snapshot sits above it). The snapvirt process group is killed
 * at a seeded random moment; QEMU, which runs detached as a real domain does, lives on
 * with whatever block job it had. Then, and also after kills in the middle of recovery
 * finishing an interrupted merge (three in a row on the same world), a new process
 * recovers, and the world must be wholly before or after (after, once the commit point
 * passed), with every pattern the guest wrote still read back.
 *
 * Delays are drawn from the measured length of a clean run, only to spread the kills;
 * nothing asserts on time. SNAPVIRT_CRASH_SEED replays a run; SNAPVIRT_CRASH_FULL=1 kills more often.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import { killAllQemu } from '../drivers/qemu/live/running-env.js';
import { DOMAIN, killGroup, outcomeText, runChild, startChild } from './crash-world.js';
import { fastTempDir } from './fast-temp-dir.js';
import { killRecoveryThenFinish } from './recovery-kills.js';
import type { LivePicture } from './live-picture.js';
import { buildLiveWorld, pictureOfLiveWorld, resetLiveWorld, type LiveScenario, type LiveWorld } from './live-world.js';
import { prng, sampleOf } from './seeded.js';
import { classify, describeDifference } from './world-state.js';

const FULL = process.env.SNAPVIRT_CRASH_FULL === '1';
const SEED = Number(process.env.SNAPVIRT_CRASH_SEED ?? 20261125);
const KILLS = FULL ? 16 : 2;
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
  /** How long a clean run of the operation took, to spread the kills over. */
  opMs: number;
}

async function prepare(base: string, scenario: LiveScenario): Promise<Prepared> {
  const world = await buildLiveWorld(base, scenario);
  await resetLiveWorld(world);
  const started = Date.now();
  const clean = await runChild(world.dirs.stateDir, world.op, '');
  const opMs = Date.now() - started;
  assert.equal(clean.code, 0, outcomeText(clean));
  return { world, after: await pictureOfLiveWorld(world), opMs };
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

for (const victim of chosen) {
  const scenario = longMerge(victim);

  test(`random SIGKILL during a ${scenario.name}, and during recovery of it (seed ${SEED})`, async (t) => {
    const tmp = await fastTempDir('snapvirt-live-kill-');
    t.after(async () => {
      await killAllQemu(join(tmp.path, 'w', 'state'));
      await tmp.cleanup();
    });
    const p = await prepare(tmp.path, scenario);
    await t.test('kills during the operation', () => killsDuringOperation(p, victim, t.diagnostic.bind(t)));
    await t.test('kills during recovery of an interrupted merge', () => killsDuringRecovery(p, victim));
  });
}

/** Kills during the operation: wholly before or after, after once it reported success. */
async function killsDuringOperation(p: Prepared, victim: 'A' | 'B', diagnostic: (m: string) => void): Promise<void> {
  const rand = prng(SEED + victim.charCodeAt(0));
  const seen = { before: 0, after: 0, finished: 0 };
  for (let i = 0; i < KILLS; i++) {
    await resetLiveWorld(p.world);
    const delay = Math.floor(rand() * p.opMs);
    const running = startChild(p.world.dirs.stateDir, p.world.op, '');
    await sleep(delay);
    killGroup(running);
    const end = await running.done;
    const label = `kill ${i} at ${delay} ms of ${p.opMs}`;
    assert.ok(!end.hung && end.code !== 3, `${label}: ${outcomeText(end)}`);
    const recovery = await runChild(p.world.dirs.stateDir, { op: 'open' }, '');
    assert.equal(recovery.code, 0, `seed ${SEED} ${label}: recovery failed: ${outcomeText(recovery)}`);
    const side = check(p, await pictureOfLiveWorld(p.world), label, end.code === 0 ? 'after' : undefined);
    if (end.code === 0) seen.finished++;
    seen[side]++;
  }
  diagnostic(`${KILLS} kills: ${seen.before} wholly before, ${seen.after} wholly after (${seen.finished} had finished)`);
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
