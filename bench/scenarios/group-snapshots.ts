/**
 * Scenario 7: a group snapshot (#17) of three running domains of four disks each
 * (`--disk-only`), against its baselines measured in the same run on the same machine:
 * one 4-disk domain's live atomic snapshot (the pause each member's must stay near), and
 * three sequential `snapshot-create-as --disk-only --atomic` calls (the time the group
 * must beat). Every guest is a TCG QEMU idling in SeaBIOS, on snapvirt's qemu:///session.
 *
 * Pauses come from bench/group-snapvirt-script.ts (the library, one process per snapshot,
 * QMP timed inside it): a member's is its vCPUs' stop → cont, the single domain's its
 * transaction. End-to-end is the CLI, one process per command, for both sides.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from '../context.js';
import { fmtMs, fmtRatio, row, type ScenarioResult, type TargetCheck } from '../report.js';
import { summarize } from '../stats.js';
import { runTimed } from '../run-timed.js';
import { createDisks, SnapvirtSession } from '../qemu-session.js';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const MEMBERS = ['grp1', 'grp2', 'grp3'];
const SOLO = 'solo';
const DISKS = 4;

interface ScriptResult {
  totalMs: number;
  pausesMs: number[];
  transactionsMs: number[];
}

async function script(sv: SnapvirtSession, args: string[]): Promise<ScriptResult> {
  const r = await runTimed(process.execPath, [join(BENCH_DIR, 'group-snapvirt-script.js'), ...args], { env: sv.env, timeoutMs: 180_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ScriptResult;
}

/** Runs `once` for one untimed warm-up and then `ctx.runs` timed runs. */
async function timed<T>(ctx: BenchContext, once: (tag: string) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let run = -1; run < ctx.runs; run++) {
    const r = await once(run < 0 ? 'w' : `r${run}`);
    if (run >= 0) out.push(r);
  }
  return out;
}

/** Runs scenario 7. */
export async function benchGroupSnapshots(ctx: BenchContext): Promise<ScenarioResult> {
  const dir = join(ctx.workDir, 'group');
  const sv = new SnapvirtSession(ctx.snapvirtBin, join(dir, 'state'));
  // TCG like every other live scenario.
  sv.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
  const domains = [...MEMBERS, SOLO];
  for (const name of domains) await sv.define(name, await createDisks(join(dir, name), 'd', DISKS));
  for (const name of domains) await sv.cmd(`start ${name}`, 60_000);
  try {
    ctx.log(`group: pause of one ${DISKS}-disk domain's snapshot`);
    const solo = summarize((await timed(ctx, (tag) => script(sv, ['single', SOLO, `p${tag}`]))).map((r) => r.pausesMs[0]!));
    ctx.log(`group: pauses of ${MEMBERS.length} members × ${DISKS} disks`);
    const groupRuns = await timed(ctx, (tag) => script(sv, ['group', `p${tag}`, ...MEMBERS]));
    // The k-th member resumed (in the order the group resumes them): each its own series.
    const memberPauses = MEMBERS.map((_, k) => summarize(groupRuns.map((r) => r.pausesMs[k]!)));
    const worst = memberPauses.reduce((a, b) => (b.median > a.median ? b : a));
    const slowestTx = summarize(groupRuns.map((r) => Math.max(...r.transactionsMs)));
    // Two members, no more QEMUs switching at once than this machine may have CPUs: how much of
    // the three-member window is the transactions sharing CPUs.
    const pair = MEMBERS.slice(0, 2);
    ctx.log(`group: pauses of ${pair.length} members × ${DISKS} disks`);
    const pairRuns = await timed(ctx, (tag) => script(sv, ['group', `q${tag}`, ...pair]));
    const pairWorst = summarize(pairRuns.map((r) => Math.max(...r.pausesMs)));
    const pairSlowestTx = summarize(pairRuns.map((r) => Math.max(...r.transactionsMs)));

    ctx.log('group: end-to-end, three sequential snapshot-create-as --disk-only --atomic');
    const sequential = summarize(await timed(ctx, async (tag) => {
      let ms = 0;
      for (const name of MEMBERS) ms += (await sv.cmd(`snapshot-create-as ${name} e${tag} --disk-only --atomic`, 120_000)).ms;
      return ms;
    }));
    ctx.log('group: end-to-end, group-snapshot-create --disk-only');
    const group = summarize(await timed(ctx, async (tag) => (await sv.cmd(`group-snapshot-create g${tag} ${MEMBERS.join(' ')} --disk-only`, 180_000)).ms));

    const targets: TargetCheck[] = [
      {
        target: `group of ${MEMBERS.length} × ${DISKS} disks: every member's guest-visible pause ≤ 2× one ${DISKS}-disk domain's`,
        measured: `worst member ${fmtMs(worst.median)} ms vs ${fmtMs(solo.median)} ms = ${fmtRatio(worst.median / solo.median)}`,
        met: memberPauses.every((p) => p.median <= 2 * solo.median),
      },
      {
        target: `group of ${MEMBERS.length} × ${DISKS} disks end-to-end < ${MEMBERS.length} sequential snapshot-create-as --atomic`,
        measured: `${fmtMs(group.median)} ms vs ${fmtMs(sequential.median)} ms = ${fmtRatio(group.median / sequential.median)}`,
        met: group.median < sequential.median,
      },
    ];
    return {
      title: `7. Group snapshot of ${MEMBERS.length} running domains × ${DISKS} disks`,
      notes: [
        `${MEMBERS.length + 1} TCG QEMUs on snapvirt's qemu:///session (64 MiB qcow2 disks, virtio, the guests idle in SeaBIOS), ` +
        'one untimed warm-up per series, each run adding one overlay per disk. ' +
        'Pauses from bench/group-snapvirt-script.ts (the library, one process per snapshot; QmpClient timed in that process, src/ unchanged): ' +
        'a member\'s pause runs from sending `stop` (its vCPUs) to the reply to its `cont`: its own stop, every member\'s `transaction` (all at once, each right after its own stop) and the resume (the commit comes after it); ' +
        `the baseline is one ${DISKS}-disk domain's \`snapshotCreateXML(DISK_ONLY|ATOMIC)\`, whose pause is its \`transaction\` (I/O blocked, vCPUs not stopped). ` +
        `The group of ${pair.length} is the same window with one QEMU fewer switching at once. End-to-end: \`group-snapshot-create NAME ${MEMBERS.join(' ')} --disk-only\` against \`snapshot-create-as DOMAIN NAME --disk-only --atomic\` for each member in turn (the sum), ` +
        'each one CLI process.',
      ],
      tables: [
        {
          caption: 'Guest-visible pause',
          rows: [
            row(`one ${DISKS}-disk domain: its transaction`, solo),
            ...memberPauses.map((p, k) => row(`group member resumed ${k + 1}${['st', 'nd', 'rd'][k] ?? 'th'}: stop → cont`, p, { 'one domain': solo })),
            row(`group of ${MEMBERS.length}: its slowest member's transaction`, slowestTx, { 'one domain': solo }),
            row(`group of ${pair.length} × ${DISKS} disks: worst member, stop → cont`, pairWorst, { 'one domain': solo }),
            row(`group of ${pair.length}: its slowest member's transaction`, pairSlowestTx, { 'one domain': solo }),
          ],
        },
        {
          caption: 'End-to-end',
          rows: [
            row(`${MEMBERS.length} sequential snapshot-create-as --disk-only --atomic`, sequential),
            row('group-snapshot-create --disk-only', group, { sequential }),
          ],
        },
      ],
      targets,
    };
  } finally {
    for (const name of domains) await sv.cmd(`destroy ${name}`, 60_000).catch(() => undefined);
  }
}
