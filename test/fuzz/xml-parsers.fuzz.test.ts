/**
 * Hostile input for the XML parsers: the properties of xml-properties.ts
 * run in a worker thread, so that a parser stuck in a synchronous loop is reported as a
 * hang instead of stalling the run. Every parser call must return or throw a VirError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPropertiesInWorker } from './fuzz-worker.js';
import { FUZZ_SEED } from './fuzz-support.js';

/** Far above any property's run time; past it the parser is taken to hang. */
const HANG_LIMIT_MS = 120_000;
const PROPERTIES: Array<[string, string]> = [
  ['randomText', 'random text (any code point, lone surrogates, markup fragments)'],
  ['mutatedDocuments', 'mutated valid snapshot and domain documents'],
  ['invalidUtf8', 'text decoded from invalid UTF-8 inside valid documents'],
  ['deepNesting', 'deep nesting, up to 200,000 levels'],
  ['hugeDocuments', 'floods of elements and huge attributes, up to past the size limit'],
  ['entityTricks', 'DOCTYPEs, billion laughs, external and parameter entities'],
];

test(`XML parsers fuzz (seed ${FUZZ_SEED}): every parser returns or throws a VirError, never hangs`, async (t) => {
  const moduleUrl = new URL('./xml-properties.js', import.meta.url).href;
  const results = await runPropertiesInWorker(moduleUrl, PROPERTIES.map(([p]) => p), HANG_LIMIT_MS);
  for (const r of results) t.diagnostic(`${PROPERTIES.find(([p]) => p === r.property)?.[1]}: ${r.ok ? 'ok' : 'FAILED'}`);
  assert.deepEqual(results.filter((r) => !r.ok).map((r) => `${r.property}: ${r.message}`), []);
  assert.equal(results.length, PROPERTIES.length);
});
