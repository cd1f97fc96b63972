/**
 * Hostile input for the command line: the properties of
 * cli-properties.ts (random argv and batch strings through main() on test:///default,
 * random strings and word lists through the command parser) run in a worker thread, so
 * a synchronous loop is reported as a hang instead of stalling the run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPropertiesInWorker } from './fuzz-worker.js';
import { FUZZ_SEED } from './fuzz-support.js';

/** Far above any property's run time; past it the CLI is taken to hang. */
const HANG_LIMIT_MS = 180_000;

test(`CLI fuzz (seed ${FUZZ_SEED}): main() ends in 0 or 1 with a message, the parser answers ok or errors`, async () => {
  const moduleUrl = new URL('./cli-properties.js', import.meta.url).href;
  const results = await runPropertiesInWorker(moduleUrl, ['mainNeverThrows', 'parserAnswers'], HANG_LIMIT_MS);
  assert.deepEqual(results.filter((r) => !r.ok).map((r) => `${r.property}: ${r.message}`), []);
  assert.equal(results.length, 2);
});
