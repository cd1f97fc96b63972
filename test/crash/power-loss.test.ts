/**
 * Power loss: the crash matrix's operations killed at their failpoints, and then
 * the power cut (power-cut.ts), so everything that was written but not made durable is
 * lost. After recovery on the file system as it survived, the world must be wholly before
 * (the cut came before the commit point) or wholly after (it came after): this is what
 * proves the fsyncs of the atomic protocol (docs/ARCHITECTURE.md) are all there: overlays and their directory
 * before the switch, SQLite's commit, the journal before any side effect.
 *
 * By default (npm test) a seeded sample: a few operations, a few crash points each.
 * SNAPVIRT_CRASH_FULL=1 (npm run test:crash) runs every crash point of every operation;
 * SNAPVIRT_CRASH_ONLY=<text> only the operations whose name contains <text>.
 * Root only (loop mounts), like the other fault tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outcomeText, runChild } from './crash-world.js';
import { judgeRecoveredWorld, prepareScenario, type CrashCase, type PreparedScenario } from './matrix.js';
import { makeLoopFs, type LoopFs } from './power-cut.js';
import { SCENARIOS } from './scenarios.js';
import { prng, sampleOf } from './seeded.js';

const FULL = process.env.SNAPVIRT_CRASH_FULL === '1';
const SEED = Number(process.env.SNAPVIRT_CRASH_SEED ?? 20261125);
const SAMPLE_SCENARIOS = 2;
const SAMPLE_CASES = 3;
const mode = FULL ? 'full' : `sample, seed ${SEED}`;

/** Runs one crash case, cuts the power, recovers; undefined when wholly on the expected side. */
async function runPowerCutCase(fs: LoopFs, p: PreparedScenario, c: CrashCase): Promise<string | undefined> {
  const { world } = p;
  const label = `[${c.opFailpoints} + power cut]`;
  await world.reset();
  await fs.settle();
  try {
    const opRun = await runChild(world.stateDir, world.op, c.opFailpoints);
    if (opRun.signal !== 'SIGKILL') return `${label} the operation was not killed at the failpoint: ${outcomeText(opRun)}`;
    await fs.cut();
    const recovery = await runChild(world.stateDir, { op: 'open' }, '');
    if (recovery.code !== 0) return `${label} recovery after the power cut failed: ${outcomeText(recovery)}`;
    return await judgeRecoveredWorld(p, c, label);
  } finally {
    await fs.restore();
  }
}

const ONLY = process.env.SNAPVIRT_CRASH_ONLY;
const pool = ONLY ? SCENARIOS.filter((s) => s.name.includes(ONLY)) : SCENARIOS;
const chosen = FULL || ONLY ? pool : sampleOf(prng(SEED), pool, SAMPLE_SCENARIOS);

test(`power loss after a crash at each failpoint (${mode})`, { concurrency: 1 }, async (parent) => {
  for (const [index, scenario] of chosen.entries()) {
    await parent.test(scenario.name, async (t) => {
      const fs = await makeLoopFs(await mkdtemp(join(tmpdir(), 'snapvirt-power-')));
      t.after(() => fs.destroy());
      const prepared = await prepareScenario(fs.mountPoint, scenario);
      // Only plain crashes of the operation: a power cut makes an error case a crash case.
      const crashes = prepared.cases.filter((c) => c.opCrashes && c.recoveryFailpoints === undefined && !c.opFailpoints.includes(','));
      const cases = FULL ? crashes : sampleOf(prng(SEED + 100 + index), crashes, SAMPLE_CASES);
      const failures: string[] = [];
      for (const c of cases) {
        const problem = await runPowerCutCase(fs, prepared, c);
        if (problem !== undefined) failures.push(problem);
      }
      t.diagnostic(`${scenario.name}: ${crashes.length} crash points, ${cases.length} run with a power cut, ${failures.length} failed`);
      assert.ok(cases.length > 0, 'no case to run');
      assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} of ${cases.length} power-cut cases of '${scenario.name}' failed`);
    });
  }
});
