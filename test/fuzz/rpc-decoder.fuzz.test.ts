/**
 * Hostile input for the RPC decoder: the properties of rpc-properties.ts run in a worker
 * thread, so a decoder stuck in a loop is reported as a hang instead of stalling the run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPropertiesInWorker } from './fuzz-worker.js';
import { FUZZ_SEED } from './fuzz-support.js';

/** Far above the properties' run time; past it the decoder is taken to hang. */
const HANG_LIMIT_MS = 120_000;

test(`RPC decoder fuzz (seed ${FUZZ_SEED}): random, mutated and oversized packets decode or raise XdrError`, async () => {
  const moduleUrl = new URL('./rpc-properties.js', import.meta.url).href;
  const results = await runPropertiesInWorker(moduleUrl, ['randomBytes', 'mutatedCaptures', 'badLengths'], HANG_LIMIT_MS);
  assert.deepEqual(results.filter((r) => !r.ok).map((r) => `${r.property}: ${r.message}`), []);
  assert.equal(results.length, 3);
});
