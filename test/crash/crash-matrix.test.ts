/**
 * The crash matrix over the offline QEMU driver: every operation of
 * scenarios.ts × every failpoint it reaches (discovered by a traced run) × {error, crash},
 * plus crashes and errors at every point of the in-process rollback and of recovery.
 * After each case a new process recovers, and the world must be wholly before or wholly
 * after the operation, on the side the commit point decides.
 *
 * `SNAPVIRT_CRASH_FULL=1` runs every case. By default (npm test, CI) a seeded sample runs:
 * a few scenarios and a few cases of each, picked by SNAPVIRT_CRASH_SEED (printed with
 * every failure, so a failing sample can be replayed exactly). SNAPVIRT_CRASH_ONLY=<text>
 * runs only the scenarios whose name contains <text>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareScenario, runCase, type CrashCase } from './matrix.js';
import { prng, sampleOf } from './seeded.js';
import { SCENARIOS } from './scenarios.js';
import { fastTempDir } from './fast-temp-dir.js';
import { recordCrashResult } from './crash-results.js';

const FULL = process.env.SNAPVIRT_CRASH_FULL === '1';
const SEED = Number(process.env.SNAPVIRT_CRASH_SEED ?? 20261125);
/** In the sample: how many scenarios, and how many cases of each. */
const SAMPLE_SCENARIOS = 3;
const SAMPLE_CASES = 6;
const ONLY = process.env.SNAPVIRT_CRASH_ONLY;

const pool = ONLY ? SCENARIOS.filter((s) => s.name.includes(ONLY)) : SCENARIOS;
const chosen = FULL || ONLY ? pool : sampleOf(prng(SEED), pool, SAMPLE_SCENARIOS);
const totals = { scenarios: 0, cases: 0, run: 0, before: 0, after: 0, failed: 0 };
const mode = FULL ? 'full' : `sample, seed ${SEED}`;

// One scenario at a time: connections pick their state dir from the environment while connecting.
test(`crash matrix (${mode})`, { concurrency: 1 }, async (parent) => {
  await Promise.all(chosen.map((scenario, index) => parent.test(scenario.name, async (t) => {
    const tmp = await fastTempDir('snapvirt-crash-');
    t.after(() => tmp.cleanup());
    const prepared = await prepareScenario(tmp.path, scenario);
    // One stream per scenario, so the sample does not depend on the order scenarios finish in.
    const cases: CrashCase[] = FULL ? prepared.cases : sampleOf(prng(SEED + index + 1), prepared.cases, SAMPLE_CASES);
    const failures: string[] = [];
    const ended = { before: 0, after: 0 };
    for (const c of cases) {
      const problem = await runCase(prepared, c);
      if (problem === undefined) ended[c.expect]++;
      else failures.push(problem);
    }
    totals.scenarios++;
    totals.cases += prepared.cases.length;
    totals.run += cases.length;
    totals.failed += failures.length;
    totals.before += ended.before;
    totals.after += ended.after;
    const points = [...prepared.reached].map(([p, n]) => (n > 1 ? `${p}×${n}` : p)).join(' ');
    t.diagnostic(`${scenario.name}: ${prepared.cases.length} cases, ${cases.length} run, ${failures.length} failed; reached: ${points}`);
    if (FULL) {
      recordCrashResult('offline-matrix', {
        operation: scenario.name, cases: prepared.cases.length, run: cases.length, failed: failures.length, reached: points,
        before: ended.before, after: ended.after,
      });
    }
    assert.ok(cases.length > 0, 'no case to run');
    assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} of ${cases.length} cases of '${scenario.name}' failed`);
  })));
});

test('crash matrix: summary', () => {
  const line = `crash matrix (${mode}): ${totals.scenarios} operations, ${totals.cases} cases in their full matrix, ` +
    `${totals.run} run: ${totals.before} wholly before, ${totals.after} wholly after, ${totals.failed} failed`;
  console.log(line);
  assert.equal(totals.scenarios, chosen.length, 'a scenario did not finish');
  assert.equal(totals.before + totals.after + totals.failed, totals.run);
});
