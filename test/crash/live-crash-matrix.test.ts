/**
 * The crash matrix over live operations: every operation of
 * live-scenarios.ts on a running domain (QEMU under TCG) × every failpoint it reaches ×
 * {error, crash}, plus the in-process rollback's undo points and recovery's own points.
 * After each case a new process recovers (for a running domain, query-block decides
 * whether a live switch happened), and the world must be wholly before or wholly after:
 * dumpxml (live and inactive), every chain with its tags, every file, the metadata, the
 * run state, QEMU's query-block, block nodes and jobs, and the guest data of every disk
 * and snapshot.
 *
 * `SNAPVIRT_CRASH_FULL=1` runs every case. By default (npm test) a seeded sample runs: a
 * few operations and a few cases of each, picked by SNAPVIRT_CRASH_SEED (printed in the
 * test name). SNAPVIRT_CRASH_ONLY=<text> runs only the operations whose name contains it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { killAllQemu } from '../drivers/qemu/support/active-env.js';
import { buildLiveWorld, liveMatrixWorld } from './live-world.js';
import { LIVE_SCENARIOS } from './live-scenarios.js';
import { caseLabel, prepareMatrix, runCase, type CrashCase } from './matrix.js';
import { prng, sampleOf } from './seeded.js';
import { fastTempDir } from './fast-temp-dir.js';
import { recordCrashResult } from './crash-results.js';

const FULL = process.env.SNAPVIRT_CRASH_FULL === '1';
const SEED = Number(process.env.SNAPVIRT_CRASH_SEED ?? 20261125);
/** In the sample: how many operations, and how many cases of each. */
const SAMPLE_SCENARIOS = 2;
const SAMPLE_CASES = 3;
const ONLY = process.env.SNAPVIRT_CRASH_ONLY;

const pool = ONLY ? LIVE_SCENARIOS.filter((s) => s.name.includes(ONLY)) : LIVE_SCENARIOS;
const chosen = FULL || ONLY ? pool : sampleOf(prng(SEED ^ 0x11fe), pool, SAMPLE_SCENARIOS);
const totals = { scenarios: 0, cases: 0, run: 0, before: 0, after: 0, failed: 0 };
const mode = FULL ? 'full' : `sample, seed ${SEED}`;

test(`live crash matrix (${mode})`, { concurrency: 1 }, async (parent) => {
  for (const [index, scenario] of chosen.entries()) {
    await parent.test(scenario.name, async (t) => {
      const tmp = await fastTempDir('snapvirt-live-crash-');
      t.after(async () => {
        await killAllQemu(join(tmp.path, 'w', 'state'));
        await tmp.cleanup();
      });
      const world = await buildLiveWorld(tmp.path, scenario);
      const prepared = await prepareMatrix(liveMatrixWorld(world));
      // A vTPM row whose operation left the TPM's picture as it was would not test it at all.
      if (scenario.tpm) assert.notEqual(JSON.stringify(prepared.after.tpm), JSON.stringify(world.before.tpm), 'the TPM state did not change');
      if (scenario.nvram) {
        assert.notEqual(JSON.stringify(prepared.after.nvram), JSON.stringify(world.before.nvram), 'the NVRAM did not change');
        // A world whose file and QEMU's flash memory differ would be no real domain (live-world.ts, nvramRound).
        for (const p of [world.before, prepared.after]) assert.equal(p.pflash, "QEMU's variable store holds the NVRAM file's bytes");
      }
      const cases: CrashCase[] = FULL ? prepared.cases : sampleOf(prng(SEED + 0x11fe + index), prepared.cases, SAMPLE_CASES);
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
      t.diagnostic(`${scenario.name}: ${prepared.cases.length} cases, ${cases.length} run (${cases.map(caseLabel).join(' ')}), ${failures.length} failed; reached: ${points}`);
      if (FULL) {
        recordCrashResult('live-matrix', {
          operation: scenario.name, cases: prepared.cases.length, run: cases.length, failed: failures.length, reached: points,
          before: ended.before, after: ended.after,
        });
      }
      // Every failure in full: the assertion's own diff would cut a long list short.
      for (const f of failures) t.diagnostic(`FAILED ${f.split('\n').slice(0, 3).join(' / ').slice(0, 2000)}`);
      assert.ok(cases.length > 0, 'no case to run');
      assert.equal(failures.length, 0, `seed ${SEED}: ${failures.length} of ${cases.length} cases of '${scenario.name}' failed:\n${failures.join('\n')}`);
    });
  }
});

test('live crash matrix: summary', () => {
  const line = `live crash matrix (${mode}): ${totals.scenarios} operations, ${totals.cases} cases in their full matrix, ` +
    `${totals.run} run: ${totals.before} wholly before, ${totals.after} wholly after, ${totals.failed} failed`;
  console.log(line);
  assert.equal(totals.scenarios, chosen.length, 'an operation did not finish');
  assert.equal(totals.before + totals.after + totals.failed, totals.run);
});
