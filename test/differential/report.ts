/**
 * Runs every differential scenario and prints a mismatch summary, for the engineers fixing
 * mismatches. Usage:
 *   node dist/test/differential/report.js [--filter SUBSTR] [--virsh] [--snapvirt] [--jobs N] [--quiet]
 * --virsh / --snapvirt print the raw normalised outcome of each selected scenario from that
 * tool instead of comparing (useful to check a scenario shows what it is meant to show).
 * --self-check runs virsh twice per scenario and reports any difference: the normalisation
 * must make two virsh runs identical, or the suite would be flaky.
 * Exit status: 0 when everything matches, 1 otherwise.
 */
import { compare, defaultJobs, describeDifference, mapLimited, runWith, type Comparison, type Tool } from './harness.js';
import { allScenarios } from './scenarios/index.js';
import type { Outcome } from './scenario.js';

function option(name: string): string | undefined {
  const k = process.argv.indexOf(name);
  return k >= 0 ? process.argv[k + 1] : undefined;
}

function printOutcome(title: string, o: Outcome): void {
  process.stdout.write(`=== ${title} (exit ${o.code})\n--- stdout\n${o.stdout}--- stderr\n${o.stderr}\n`);
}

async function main(): Promise<number> {
  const filter = option('--filter');
  const jobs = Number(option('--jobs') ?? String(defaultJobs));
  const selected = allScenarios.filter((s) => filter === undefined || s.name.includes(filter));
  const rawTool: Tool | undefined = process.argv.includes('--virsh') ? 'virsh' : process.argv.includes('--snapvirt') ? 'snapvirt' : undefined;
  if (rawTool !== undefined) {
    const outcomes = await mapLimited(selected, jobs, (s) => runWith(rawTool, s));
    selected.forEach((s, k) => printOutcome(`${s.name} [${rawTool}]`, outcomes[k]!));
    return 0;
  }
  if (process.argv.includes('--self-check')) {
    const pairs = await mapLimited(selected, jobs, async (s) => [await runWith('virsh', s), await runWith('virsh', s)] as const);
    let unstable = 0;
    selected.forEach((s, k) => {
      const diff = describeDifference(pairs[k]![0], pairs[k]![1], 'virsh run 1');
      if (diff !== '') { unstable++; process.stdout.write(`### UNSTABLE ${s.name}\n${diff}\n`); }
    });
    process.stdout.write(`${selected.length} scenarios, ${unstable} unstable under normalisation\n`);
    return unstable === 0 ? 0 : 1;
  }
  const started = Date.now();
  const results: Comparison[] = await mapLimited(selected, jobs, (s) => compare(s));
  const failed = results.filter((r) => !r.matches);
  if (!process.argv.includes('--quiet')) {
    for (const r of failed) {
      process.stdout.write(`\n### MISMATCH ${r.scenario.name}${r.scenario.deviation !== undefined ? ` (deviation: ${r.scenario.deviation})` : ''}\n`);
      process.stdout.write(`command: ${r.scenario.commands ?? (r.scenario.argv ?? []).join(' ')}\n${r.diff}\n`);
    }
  }
  const deviations = results.filter((r) => r.scenario.deviation !== undefined).length;
  process.stdout.write(`\n${results.length} scenarios (${deviations} deviations checked against expected output), ` +
    `${results.length - failed.length} match, ${failed.length} mismatch, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  for (const r of failed) process.stdout.write(`  MISMATCH ${r.scenario.name}\n`);
  return failed.length === 0 ? 0 : 1;
}

// `node --test dist/test/` runs every file under a directory named test, this one too; the
// suite proper is differential.test.js, so the report stays inert inside the test runner.
if (process.env['NODE_TEST_CONTEXT'] === undefined) {
  main().then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 2;
  });
}
