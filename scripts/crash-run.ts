/**
 * `npm run test:crash`: every crash suite in full (SNAPVIRT_CRASH_FULL=1 node --test
 * dist/test/crash/), then the results tables in docs/RELIABILITY.md, between the
 * crash:begin/crash:end markers, with the commit and the date the run was made at. The
 * tables are never edited by hand: `npm run check:evidence` (scripts/check-evidence.ts)
 * fails once the recorded commit is older than the last change to src/txn or
 * src/drivers/qemu.
 *
 * Two test files run at once (the offline matrix next to the live one, whose TCG QEMU
 * waits more than it computes). The tables are written even when a case failed (its row
 * says how many), and the exit status is node --test's. With uncommitted changes under
 * src/ or test/crash/ the run is not what any commit holds: the tests run, the tables
 * are left alone, as they are for a partial run (test files named on the command line,
 * or SNAPVIRT_CRASH_ONLY), whose tables are printed instead.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRASH_BEGIN, CRASH_END, type KillRow, type MatrixRow } from '../test/crash/crash-results.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = join(ROOT, 'docs', 'RELIABILITY.md');

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

function readRows<T>(dir: string, suite: string): T[] {
  const file = readdirSync(dir).includes(`${suite}.jsonl`) ? readFileSync(join(dir, `${suite}.jsonl`), 'utf8') : '';
  return file.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

function matrixTable(title: string, rows: MatrixRow[]): string {
  if (rows.length === 0) return `**${title}**: no results (the suite did not run or finished no operation).\n`;
  const sum = (k: 'cases' | 'run' | 'before' | 'after' | 'failed'): number => rows.reduce((n, r) => n + r[k], 0);
  const lines = [
    `**${title}**: ${rows.length} operations, ${sum('cases')} cases, ${sum('run')} run: ` +
    `${sum('before')} wholly before, ${sum('after')} wholly after, **${sum('failed')} failed**.`,
    '',
    '| Operation | Cases | Wholly before | Wholly after | Failed | Failpoints reached by a clean run (× hits) |',
    '|-----------|------:|--------------:|-------------:|-------:|---------------------------------------------|',
    ...rows.map((r) => `| ${r.operation} | ${r.run} | ${r.before} | ${r.after} | ${r.failed} | ${r.reached.split(' ').join(', ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

function killTable(rows: Array<KillRow & { suite: string }>): string {
  if (rows.length === 0) return '**Random kills**: no results.\n';
  const failed = rows.filter((r) => r.failed !== undefined);
  const verdict = failed.length === 0 ? 'each wholly before or after'
    : `**${failed.length} operation${failed.length > 1 ? 's' : ''} failed** (a kill left the world neither before nor after)`;
  return [
    `**Random kills**: ${rows.reduce((n, r) => n + r.kills, 0)} kills during operations (and more during recovery, not listed), ${verdict}.`,
    '',
    '| Suite | Operation | Kills | Where they landed |',
    '|-------|-----------|------:|-------------------|',
    ...rows.map((r) => (r.failed !== undefined
      ? `| ${r.suite} | ${r.operation} | – | **failed**: ${r.failed.replace(/\|/g, '\\|')} |`
      : `| ${r.suite} | ${r.operation} | ${r.kills} | ${r.landed} |`)),
  ].join('\n') + '\n';
}

/** Replaces the generated section of docs/RELIABILITY.md (it must have the markers). */
function writeSection(section: string): void {
  const doc = readFileSync(DOC, 'utf8');
  const b = doc.indexOf(CRASH_BEGIN);
  const e = doc.indexOf(CRASH_END);
  if (b < 0 || e < b) throw new Error(`${DOC} has no ${CRASH_BEGIN} … ${CRASH_END} section`);
  writeFileSync(DOC, `${doc.slice(0, b)}${CRASH_BEGIN}\n${section}${CRASH_END}${doc.slice(e + CRASH_END.length)}`);
}

async function main(): Promise<void> {
  // Test files named on the command line run alone: their tables are printed, not written.
  const only = process.argv.slice(2);
  const commit = git(['rev-parse', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'src', 'test/crash', 'scripts']);
  const results = mkdtempSync(join(tmpdir(), 'snapvirt-crash-results-'));
  const started = Date.now();
  const date = new Date(started).toISOString().replace(/\.\d+Z$/, 'Z');
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...(only.length > 0 ? only : [join(ROOT, 'dist', 'test', 'crash')])], {
      stdio: 'inherit',
      env: { ...process.env, SNAPVIRT_CRASH_FULL: '1', SNAPVIRT_CRASH_RESULTS_DIR: results },
    });
    child.once('close', (c) => resolve(c ?? 1));
  });
  const minutes = Math.round((Date.now() - started) / 60_000);
  const kills = [
    ...readRows<KillRow>(results, 'random-kill').map((r) => ({ ...r, suite: 'offline' })),
    ...readRows<KillRow>(results, 'live-random-kill').map((r) => ({ ...r, suite: 'live' })),
  ];
  const section = [
    `Generated by \`npm run test:crash\` at commit \`${commit}\` on ${date}: ${minutes} min on ${availableParallelism()} CPUs, ` +
    `every suite of test/crash/ in full; node --test exited ${code}${code === 0 ? ' (every test passed)' : ' (**some test failed**: see the rows)'}.`,
    '',
    matrixTable('Offline crash matrix', readRows<MatrixRow>(results, 'offline-matrix')),
    matrixTable('Live crash matrix', readRows<MatrixRow>(results, 'live-matrix')),
    killTable(kills),
  ].join('\n');
  rmSync(results, { recursive: true, force: true });
  if (only.length > 0 || process.env.SNAPVIRT_CRASH_ONLY) {
    process.stdout.write(`test:crash: a partial run (${[...only, process.env.SNAPVIRT_CRASH_ONLY ?? ''].join(' ').trim()}); docs/RELIABILITY.md left as it is:\n${section}`);
  } else if (dirty !== '') {
    process.stderr.write(`test:crash: uncommitted changes under src/, test/crash/ or scripts/; docs/RELIABILITY.md left as it is:\n${dirty}\n`);
  } else {
    writeSection(section);
    process.stdout.write(`test:crash: docs/RELIABILITY.md's results now name commit ${commit} (${minutes} min)\n`);
  }
  process.exitCode = code;
}

await main();
