/**
 * docs/api/index.md is generated (npm run docs) from the doc comments of the public API:
 * it must be current, and every public symbol and member must have a doc comment.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { REFERENCE_FILE, renderReference } from '../../scripts/api-reference.js';

test('every public symbol has a doc comment, and docs/api/index.md is current', async () => {
  const missing: string[] = [];
  const expected = renderReference(missing);
  assert.deepEqual(missing, [], 'public symbols without a doc comment');
  const actual = await readFile(REFERENCE_FILE, 'utf8');
  assert.ok(actual === expected, 'docs/api/index.md is out of date: run `npm run docs` and commit the result');
});

test('the reference covers the classes, the flags and the errors', async () => {
  const text = renderReference();
  for (const heading of ['## Connection', '### Connection.close', '### Domain.snapshotCreateXML', '### DomainSnapshot.revert',
    '## SnapshotCreateFlags', '| `ATOMIC` | `0x80` |', '## VirError', '## domainStateName', '## combineFlags']) {
    assert.ok(text.includes(heading), `${heading} is missing`);
  }
  assert.ok(!text.includes('driverFor') && !text.includes('denyIfReadOnly'), 'internal members leaked into the reference');
});
