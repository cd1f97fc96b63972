import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAllCommands } from '../../src/cli/registry.js';
import { completeLine } from '../../src/cli/shell.js';

// runShell() imports every command before it completes anything.
await loadAllCommands();

test('tab completes command names', () => {
  const [matches, word] = completeLine('snapshot-c');
  assert.equal(word, 'snapshot-c');
  assert.deepEqual(matches, ['snapshot-create', 'snapshot-create-as', 'snapshot-current', 'snapshot-check']);
});

test("tab completes a command's options, leaving out those already given", () => {
  const [matches] = completeLine('snapshot-list test --tree --p');
  assert.deepEqual(matches, ['--parent']);
  const [all] = completeLine('snapshot-delete test --children ');
  assert.ok(all.includes('--children-only'));
  assert.ok(!all.includes('--children'));
});

test('completion looks at the command after the last ;', () => {
  const [matches] = completeLine('uri; snapshot-revert test --r');
  assert.deepEqual(matches, ['--running', '--reset-nvram']);
});

test('an unknown command completes nothing', () => {
  assert.deepEqual(completeLine('bogus --')[0], []);
});
