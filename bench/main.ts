/**
 * `npm run bench`: every scenario of docs/PERFORMANCE.md with its baselines, measured in one run on
 * this machine, printed and written into docs/PERFORMANCE.md (between the generated-
 * section markers; the hand-written analysis around them is kept).
 *
 * argv: --quick (smaller sizes), --runs=N (default 5, minimum 5), --only=a,b (scenario ids:
 * startup, metadata, offline, live, revert, daemon, group, livedelete), --no-libvirt, --no-write (print only).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.js';
import { startLibvirtDaemon } from './libvirt-daemon.js';
import { describeMachine } from './machine-info.js';
import { renderScenario, renderTargets, type ScenarioResult, type TargetCheck } from './report.js';
import { writePerformanceDoc } from './performance-doc.js';
import { benchCliStartup } from './scenarios/cli-startup.js';
import { benchMetadataScale } from './scenarios/metadata-scale.js';
import { benchOfflineSnapshots } from './scenarios/offline-snapshots.js';
import { benchLiveSnapshots } from './scenarios/live-snapshots.js';
import { benchRevertDelete } from './scenarios/revert-delete.js';
import { benchDaemon } from './scenarios/daemon.js';
import { benchGroupSnapshots } from './scenarios/group-snapshots.js';
import { benchLiveDelete } from './scenarios/live-delete.js';

/** The repository root (dist/bench/main.js → ../..). */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const SCENARIOS: Record<string, { needsLibvirt: boolean; fn: (ctx: BenchContext) => Promise<ScenarioResult> }> = {
  startup: { needsLibvirt: false, fn: benchCliStartup },
  metadata: { needsLibvirt: false, fn: benchMetadataScale },
  offline: { needsLibvirt: true, fn: benchOfflineSnapshots },
  live: { needsLibvirt: true, fn: benchLiveSnapshots },
  revert: { needsLibvirt: true, fn: benchRevertDelete },
  daemon: { needsLibvirt: true, fn: benchDaemon },
  group: { needsLibvirt: false, fn: benchGroupSnapshots },
  livedelete: { needsLibvirt: true, fn: benchLiveDelete },
};

interface Args {
  quick: boolean;
  runs: number;
  only: string[];
  libvirt: boolean;
  write: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, runs: 5, only: Object.keys(SCENARIOS), libvirt: true, write: true };
  for (const a of argv) {
    if (a === '--quick') args.quick = true;
    else if (a === '--no-libvirt') args.libvirt = false;
    else if (a === '--no-write') args.write = false;
    else if (a.startsWith('--runs=')) args.runs = Math.max(5, Number.parseInt(a.slice(7), 10) || 5);
    else if (a.startsWith('--only=')) args.only = a.slice(7).split(',').filter((s) => s.length > 0);
    else throw new Error(`unknown argument ${a} (use --quick, --runs=N, --only=${Object.keys(SCENARIOS).join(',')}, --no-libvirt, --no-write)`);
  }
  for (const id of args.only) if (!(id in SCENARIOS)) throw new Error(`unknown scenario ${id}`);
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const log = (msg: string): void => { process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${msg}\n`); };
  const workDir = await mkdtemp(join(tmpdir(), 'snapvirt-bench-'));
  const ctx: BenchContext = {
    runs: args.runs, quick: args.quick, workDir, snapvirtBin: join(REPO, 'bin', 'snapvirt'), snapvirtdBin: join(REPO, 'bin', 'snapvirtd'),
    libvirt: { unavailable: 'disabled with --no-libvirt' }, log,
  };
  const results: ScenarioResult[] = [];
  try {
    if (args.libvirt && args.only.some((id) => SCENARIOS[id]!.needsLibvirt)) {
      try {
        log('starting a private libvirtd …');
        ctx.libvirt = await startLibvirtDaemon(join(workDir, 'libvirt'), log);
        log(`libvirtd is up: ${ctx.libvirt.uri}`);
      } catch (err) {
        const why = err instanceof Error ? err.message.split('\n').slice(0, 3).join(' ') : String(err);
        ctx.libvirt = { unavailable: `libvirtd could not be started: ${why}` };
        log(ctx.libvirt.unavailable);
      }
    }
    // The metadata scenario runs last: after its large stores and node files, a qemu-img
    // start on this VM took about 30 ms instead of 9 for the rest of the run (cause not
    // pinned down), which tripled the floors that start one qemu-img per disk, and slowed
    // libvirt's qemu-img calls too. The report keeps the order of SCENARIOS.
    const runOrder = [...args.only].sort((a, b) => Number(a === 'metadata') - Number(b === 'metadata'));
    const byId = new Map<string, ScenarioResult>();
    for (const id of runOrder) {
      log(`scenario ${id}`);
      const t0 = performance.now();
      try {
        byId.set(id, await SCENARIOS[id]!.fn(ctx));
      } catch (err) {
        const why = err instanceof Error ? err.stack ?? err.message : String(err);
        log(`scenario ${id} failed: ${why}`);
        byId.set(id, { title: `${id}: FAILED`, notes: ['```', why, '```'], tables: [], targets: [] });
      }
      log(`scenario ${id} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    for (const id of args.only) results.push(byId.get(id)!);
  } finally {
    if (!('unavailable' in ctx.libvirt)) {
      log('stopping libvirtd');
      await ctx.libvirt.stop();
    }
    await rm(workDir, { recursive: true, force: true });
  }
  const totalS = (performance.now() - started) / 1000;
  const targets: TargetCheck[] = results.flatMap((r) => r.targets);
  const generated = [
    `Generated by \`npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` in ${totalS.toFixed(0)} s.`,
    '',
    '#### Machine',
    '',
    await describeMachine(),
    `- libvirt baseline: ${'unavailable' in ctx.libvirt ? ctx.libvirt.unavailable : 'private libvirtd 9.0 (qemu driver) started by the bench'}`,
    '',
    '#### Targets',
    '',
    renderTargets(targets),
    '',
    ...results.map(renderScenario),
  ].join('\n');
  process.stdout.write(`${generated}\n`);
  if (args.write && args.only.length === Object.keys(SCENARIOS).length && !args.quick) {
    await writePerformanceDoc(join(REPO, 'docs', 'PERFORMANCE.md'), generated);
    log('docs/PERFORMANCE.md updated');
  } else if (args.write) {
    log('partial or --quick run: docs/PERFORMANCE.md left as it is');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
