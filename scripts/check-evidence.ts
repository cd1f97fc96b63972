/**
 * `npm run check:evidence`: docs/RELIABILITY.md's crash results are evidence only for the
 * code they ran on. This exits 1 once the commit they name (written by `npm run
 * test:crash`, never by hand) is older than the last commit that changed src/txn or the
 * QEMU driver (src/drivers/qemu, every mutating path); the fix is to run `npm run
 * test:crash` and commit the tables it writes.
 *
 * It is a gate of its own, not part of `npm test`: the full crash run it asks for takes
 * more than an hour on the project's two-core machines, and a change to those paths is
 * not finished until this passes. Without git or its history (a tarball, a shallow clone)
 * the check cannot be made: it says so and exits 2.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordedCrashCommit } from '../test/crash/crash-results.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The code the crash suites vouch for. */
const VOUCHED = ['src/txn', 'src/drivers/qemu'];

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function finish(code: 0 | 1 | 2, message: string): never {
  (code === 0 ? process.stdout : process.stderr).write(`${message}\n`);
  process.exit(code);
}

const recorded = recordedCrashCommit(readFileSync(join(ROOT, 'docs', 'RELIABILITY.md'), 'utf8'));
if (!('commit' in recorded)) finish(1, `${recorded.missing}: run npm run test:crash and commit docs/RELIABILITY.md`);
const last = git(['log', '-1', '--format=%H', '--', ...VOUCHED]);
if (last === undefined) finish(2, 'crash evidence not checked: git is unavailable here');
if (last === '') finish(2, `crash evidence not checked: git has no history of ${VOUCHED.join(' and ')} (a tarball or a shallow clone)`);
if (git(['cat-file', '-e', `${recorded.commit}^{commit}`]) === undefined) {
  finish(2, `crash evidence not checked: the recorded commit ${recorded.commit} is not in this repository's history (a shallow clone?)`);
}
if (git(['merge-base', '--is-ancestor', last, recorded.commit]) === undefined) {
  finish(1,
    `docs/RELIABILITY.md's crash results are at ${recorded.commit.slice(0, 12)}, older than ${last.slice(0, 12)}, ` +
    `the last change to ${VOUCHED.join(' or ')} (git log ${recorded.commit.slice(0, 12)}..${last.slice(0, 12)} -- ${VOUCHED.join(' ')}): ` +
    'run npm run test:crash and commit the tables it writes');
}
finish(0, `crash evidence is current: recorded at ${recorded.commit.slice(0, 12)}, last change to ${VOUCHED.join(' or ')} at ${last.slice(0, 12)}`);
