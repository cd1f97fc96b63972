/**
 * docs/RELIABILITY.md's crash results are evidence only for the code they ran on: this
 * fails once the commit they name (written by `npm run test:crash`, never by hand) is
 * older than the last commit that changed src/txn or the QEMU driver (src/drivers/qemu,
 * every mutating path). Then the fix is to run `npm run test:crash` and commit the tables.
 *
 * Without git or its history (a tarball, a shallow clone) the check cannot be made: the
 * test says so, and fails only when CI=true and .git exists (CI must fetch the history).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { recordedCrashCommit } from '../crash/crash-results.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The code the crash suites vouch for. */
const VOUCHED = ['src/txn', 'src/drivers/qemu'];

async function git(args: string[]): Promise<string> {
  return (await run('git', args, { cwd: ROOT })).stdout.trim();
}

/** Says why the check cannot be made; fails only in CI with a repository. */
function cannotCheck(t: { diagnostic(m: string): void }, why: string): void {
  t.diagnostic(`crash evidence not checked: ${why}`);
  assert.ok(!(process.env.CI === 'true' && existsSync(join(ROOT, '.git'))), `CI with a .git directory, yet ${why}`);
}

test('docs/RELIABILITY.md names a full crash run at or after the last change to src/txn and src/drivers/qemu', async (t) => {
  const recorded = recordedCrashCommit(await readFile(join(ROOT, 'docs', 'RELIABILITY.md'), 'utf8'));
  assert.ok('commit' in recorded, `${'missing' in recorded ? recorded.missing : ''}: run npm run test:crash and commit docs/RELIABILITY.md`);
  let last: string;
  try {
    last = await git(['log', '-1', '--format=%H', '--', ...VOUCHED]);
  } catch (err) {
    cannotCheck(t, `git is unavailable here (${(err as Error).message.split('\n')[0]})`);
    return;
  }
  if (last === '') {
    cannotCheck(t, `git has no history of ${VOUCHED.join(' and ')} (a tarball or a shallow clone)`);
    return;
  }
  const known = await git(['cat-file', '-e', `${recorded.commit}^{commit}`]).then(() => true, () => false);
  if (!known) {
    cannotCheck(t, `the recorded commit ${recorded.commit} is not in this repository's history (a shallow clone?)`);
    return;
  }
  const contains = await git(['merge-base', '--is-ancestor', last, recorded.commit]).then(() => true, () => false);
  assert.ok(contains,
    `docs/RELIABILITY.md's crash results are at ${recorded.commit.slice(0, 12)}, older than ${last.slice(0, 12)}, ` +
    `the last change to ${VOUCHED.join(' or ')} (git log ${recorded.commit.slice(0, 12)}..${last.slice(0, 12)} -- ${VOUCHED.join(' ')}): ` +
    'run npm run test:crash and commit the tables it writes');
});
