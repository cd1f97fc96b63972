/**
 * Scenario 4: live atomic disk-only snapshot of a running domain (TCG, idle in SeaBIOS)
 * with 1, 8 and 32 disks. End-to-end is one process per snapshot for every side; the
 * guest-visible pause is the `transaction` command's round trip (QEMU drains and blocks
 * guest I/O for its duration). snapvirt runs its driver path through the library in one
 * process per snapshot (bench/live-snapvirt-script.ts, which also times the transaction),
 * through the library in one warm process, and through its CLI.
 * The floor is bench/live-floor-script.ts; libvirt is virsh against the private libvirtd,
 * its pause read from libvirtd's monitor log (millisecond timestamps).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from '../context.js';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import { libvirtMissing, libvirtOf } from '../context.js';
import { fmtMs, fmtRatio, row, skippedRow, type ResultRow, type ScenarioResult, type TargetCheck } from '../report.js';
import { summarize, type Summary } from '../stats.js';
import { runTimed } from '../run-timed.js';
import { createDisks, diskTarget, domainXml, SnapvirtSession } from '../qemu-session.js';
import { parseDomainXML } from '../../src/conf/domain-xml.js';
import { QemuProcess } from '../../src/drivers/qemu/domain/qemu-process.js';
import { diskNodeNames } from '../../src/drivers/qemu/qmp/disk-node-names.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

interface ScriptTimings {
  totalMs: number;
  transactionMs: number;
}

async function runScript(script: string, args: string[]): Promise<{ wallMs: number; t: ScriptTimings }> {
  const r = await runTimed(process.execPath, [join(BENCH_DIR, script), ...args]);
  return { wallMs: r.ms, t: JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ScriptTimings };
}

/** Starts a TCG QEMU for `disks` and lets go of its monitor so a script can attach. */
async function startQemu(name: string, disks: string[], runtimeDir: string): Promise<void> {
  const proc = await QemuProcess.start({ def: parseDomainXML(domainXml(name, disks)), runtimeDir, accel: 'tcg' });
  await proc.qmp.close();
}

async function stopQemu(runtimeDir: string): Promise<void> {
  const proc = await QemuProcess.attach(runtimeDir).catch(() => undefined);
  await proc?.stop();
}

/** One process per snapshot on `runs` (+1 untimed warm-up): its wall time and the transaction it timed. */
async function timeRuns(ctx: BenchContext, once: (tag: string) => Promise<{ wallMs: number; t: ScriptTimings }>): Promise<{ e2e: Summary; pause: Summary }> {
  const e2e: number[] = [];
  const pause: number[] = [];
  // One untimed warm-up snapshot: the first in a fresh QEMU pays one-off costs.
  for (let run = -1; run < ctx.runs; run++) {
    const res = await once(run < 0 ? 'w' : `r${run}`);
    if (run >= 0) {
      e2e.push(res.wallMs);
      pause.push(res.t.transactionMs);
    }
  }
  return { e2e: summarize(e2e), pause: summarize(pause) };
}

/** The floor script's end-to-end wall times and pauses for one disk count. */
async function benchFloor(ctx: BenchContext, n: number, dir: string): Promise<{ e2e: Summary; pause: Summary }> {
  ctx.log(`live ${n} disks: floor`);
  const disks = await createDisks(join(dir, 'floor'), 'd', n);
  const rt = join(dir, 'rt-floor');
  await startQemu(`live-floor-${n}`, disks, rt);
  try {
    const tops = disks.map((file, i) => ({ node: diskNodeNames(diskTarget(i)).format, file }));
    return await timeRuns(ctx, async (tag) => {
      const overlays = disks.map((d) => `${d}.floor-${tag}`);
      const res = await runScript('live-floor-script.js', [join(rt, 'qmp.sock'), tag, ...tops.flatMap((t, i) => [t.node, t.file, overlays[i]!])]);
      tops.forEach((t, i) => { t.node = `floor-${tag}-${i}`; t.file = overlays[i]!; });
      return res;
    });
  } finally {
    await stopQemu(rt);
  }
}

/**
 * snapvirt's driver path, one process per snapshot (bench/live-snapvirt-script.ts, the
 * library on qemu:///session): end-to-end wall times, and the transaction it timed.
 */
async function benchSnapvirtScript(ctx: BenchContext, n: number, dir: string): Promise<{ e2e: Summary; pause: Summary }> {
  ctx.log(`live ${n} disks: snapvirt driver path, one process per snapshot`);
  const name = `livescript${n}`;
  const sv = new SnapvirtSession(ctx.snapvirtBin, join(dir, 'script-state'));
  // TCG like every other side of the comparison.
  sv.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
  await sv.define(name, await createDisks(join(dir, 'snapvirt'), 'd', n));
  await sv.cmd(`start ${name}`, 60_000);
  try {
    return await timeRuns(ctx, async (tag) => {
      const r = await runTimed(process.execPath, [join(BENCH_DIR, 'live-snapvirt-script.js'), name, tag], { env: sv.env, timeoutMs: 120_000 });
      return { wallMs: r.ms, t: JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ScriptTimings };
    });
  } finally {
    await sv.cmd(`destroy ${name}`, 60_000).catch(() => undefined);
  }
}

/**
 * snapvirt on a running domain of qemu:///session (start, snapshots, destroy), end-to-end
 * only: through its CLI, then through the library in one warm process.
 */
async function benchCli(ctx: BenchContext, n: number, dir: string): Promise<{ cli: Summary; library: Summary } | string> {
  ctx.log(`live ${n} disks: snapvirt CLI`);
  const name = `livecli${n}`;
  const sv = new SnapvirtSession(ctx.snapvirtBin, join(dir, 'cli-state'));
  // TCG like every other side of the comparison.
  sv.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
  await sv.define(name, await createDisks(join(dir, 'cli'), 'd', n));
  try {
    await sv.cmd(`start ${name}`, 60_000);
  } catch (err) {
    return `the CLI could not start the domain: ${err instanceof Error ? err.message.split('\n').slice(-1)[0] : String(err)}`;
  }
  try {
    const e2e: number[] = [];
    for (let run = -1; run < ctx.runs; run++) {
      const r = await sv.cmd(`snapshot-create-as ${name} ${run < 0 ? 'w' : `r${run}`} --disk-only --atomic`, 60_000);
      if (run >= 0) e2e.push(r.ms);
    }
    ctx.log(`live ${n} disks: snapvirt library`);
    const library = await sv.libraryCreates(name, C.DISK_ONLY | C.ATOMIC, 'lib', ctx.runs);
    return { cli: summarize(e2e), library };
  } catch (err) {
    return `snapshot-create-as failed: ${err instanceof Error ? err.message.split('\n').slice(-1)[0] : String(err)}`;
  } finally {
    await sv.cmd(`destroy ${name}`, 60_000).catch(() => undefined);
  }
}

/** The duration of the last `transaction` in libvirtd's monitor log, from send to reply. */
async function lastTransactionPause(logFile: string): Promise<number | undefined> {
  const lines = (await readFile(logFile, 'utf8')).split('\n');
  const stamp = (line: string): number | undefined => {
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})/.exec(line);
    return m ? Date.parse(`${m[1]}T${m[2]}Z`) : undefined;
  };
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line.includes('"execute":"transaction"') || !line.includes('QEMU_MONITOR_SEND_MSG') && !line.includes('IO_WRITE')) continue;
    const id = /"id":"(libvirt-\d+)"/.exec(line)?.[1];
    const sent = stamp(line);
    if (!id || sent === undefined) return undefined;
    for (let j = i + 1; j < lines.length; j++) {
      const reply = lines[j]!;
      if (reply.includes('RECV_REPLY') && (reply.includes(`"id": "${id}"`) || reply.includes(`"id":"${id}"`))) {
        const got = stamp(reply);
        return got === undefined ? undefined : got - sent;
      }
    }
    return undefined;
  }
  return undefined;
}

/** libvirt's end-to-end time and pause, or why they are missing. */
async function benchLibvirt(ctx: BenchContext, n: number, dir: string): Promise<{ e2e: Summary; pause?: Summary } | string> {
  const lv = libvirtOf(ctx);
  if (!lv) return libvirtMissing(ctx);
  ctx.log(`live ${n} disks: libvirt`);
  const name = `sv-bench-live-${n}`;
  const xmlPath = join(dir, 'libvirt.xml');
  await writeFile(xmlPath, domainXml(name, await createDisks(join(dir, 'libvirt'), 'd', n)));
  await lv.virsh(['define', xmlPath]);
  await lv.virsh(['start', name]);
  try {
    const e2e: number[] = [];
    const pause: number[] = [];
    for (let run = -1; run < ctx.runs; run++) {
      const r = await lv.virsh(['snapshot-create-as', name, run < 0 ? 'w' : `r${run}`, '--disk-only', '--atomic']);
      if (run < 0) continue;
      e2e.push(r.ms);
      const p = await lastTransactionPause(lv.logFile);
      if (p !== undefined) pause.push(p);
    }
    return { e2e: summarize(e2e), pause: pause.length === e2e.length ? summarize(pause) : undefined };
  } finally {
    await lv.virsh(['destroy', name]).catch(() => undefined);
  }
}

/** Runs scenario 4. */
export async function benchLiveSnapshots(ctx: BenchContext): Promise<ScenarioResult> {
  const counts = ctx.quick ? [1, 8] : [1, 8, 32];
  const e2eRows: ResultRow[] = [];
  const pauseRows: ResultRow[] = [];
  const targets: TargetCheck[] = [];
  for (const n of counts) {
    const dir = join(ctx.workDir, `live-${n}`);
    const floor = await benchFloor(ctx, n, dir);
    const snapvirt = await benchSnapvirtScript(ctx, n, dir);
    const cli = await benchCli(ctx, n, dir);
    const lv = await benchLibvirt(ctx, n, dir);
    const libvirt = typeof lv === 'string' ? undefined : lv;
    e2eRows.push(
      row(`${n} disk(s): floor script`, floor.e2e),
      row(`${n} disk(s): snapvirt library, one process per snapshot (snapshotCreateXML)`, snapvirt.e2e, { floor: floor.e2e, libvirt: libvirt?.e2e }),
      typeof cli === 'string' ? skippedRow(`${n} disk(s): snapvirt CLI snapshot-create-as --disk-only --atomic`, cli)
        : row(`${n} disk(s): snapvirt CLI snapshot-create-as --disk-only --atomic`, cli.cli, { floor: floor.e2e, libvirt: libvirt?.e2e }),
      typeof cli === 'string' ? skippedRow(`${n} disk(s): snapvirt library, one warm process`, cli)
        : row(`${n} disk(s): snapvirt library, one warm process (snapshotCreateXML)`, cli.library, { floor: floor.e2e, libvirt: libvirt?.e2e }),
      libvirt ? row(`${n} disk(s): libvirt virsh snapshot-create-as --disk-only --atomic`, libvirt.e2e, { floor: floor.e2e })
        : skippedRow(`${n} disk(s): libvirt`, typeof lv === 'string' ? lv : ''),
    );
    pauseRows.push(
      row(`${n} disk(s): floor transaction`, floor.pause),
      row(`${n} disk(s): snapvirt transaction`, snapvirt.pause, { floor: floor.pause, libvirt: libvirt?.pause }),
      libvirt?.pause ? row(`${n} disk(s): libvirt transaction (from its monitor log, 1 ms resolution)`, libvirt.pause, { floor: floor.pause })
        : skippedRow(`${n} disk(s): libvirt transaction`, typeof lv === 'string' ? lv : 'transaction not found in libvirtd\'s log'),
    );
    if (n === 8 && libvirt && typeof cli !== 'string') {
      for (const [how, summary] of [['snapvirt CLI', cli.cli], ['snapvirt library, one warm process', cli.library]] as const) {
        targets.push({
          target: `live 8-disk atomic snapshot end-to-end ≤ 0.5× libvirt (${how})`,
          measured: `${fmtMs(summary.median)} ms vs ${fmtMs(libvirt.e2e.median)} ms = ${fmtRatio(summary.median / libvirt.e2e.median)}`,
          met: summary.median / libvirt.e2e.median <= 0.5,
        });
      }
    }
    if (n === 8) {
      targets.push(libvirt ? {
        target: 'live 8-disk atomic snapshot end-to-end ≤ 0.5× libvirt (library, one process per snapshot)',
        measured: `${fmtMs(snapvirt.e2e.median)} ms vs ${fmtMs(libvirt.e2e.median)} ms = ${fmtRatio(snapvirt.e2e.median / libvirt.e2e.median)}`,
        met: snapvirt.e2e.median / libvirt.e2e.median <= 0.5,
      } : { target: 'live 8-disk atomic snapshot end-to-end ≤ 0.5× libvirt', measured: typeof lv === 'string' ? lv : '', met: undefined });
    }
    const pr = snapvirt.pause.median / floor.pause.median;
    targets.push({
      target: `live ${n}-disk: guest-visible pause ≤ 1.2× the bare transaction`,
      measured: `${fmtMs(snapvirt.pause.median)} ms vs ${fmtMs(floor.pause.median)} ms = ${fmtRatio(pr)}`,
      met: pr <= 1.2,
    });
  }
  return {
    title: '4. Live atomic disk-only snapshot with 1, 8 and 32 disks',
    notes: [
      'A running TCG QEMU per side and disk count (64 MiB qcow2 disks, virtio, the guest idles in SeaBIOS), one untimed warm-up snapshot, ' +
      'then timed snapshots each adding one overlay per disk. End-to-end = wall time of one process per snapshot. ' +
      'snapvirt is measured three ways: through its CLI on qemu:///session (`start`, then `snapshot-create-as … --disk-only --atomic` per run, ' +
      'SNAPVIRT_QEMU_ACCEL=tcg; the whole driver path with store, journal and lock; end-to-end only, it reports no phase timings), ' +
      'through the library in one warm process (bench/library-create-script.ts: connect once, one untimed snapshot, then `snapshotCreateXML` per run; the whole driver path without Node\'s start-up), ' +
      'and through the library in one process per snapshot (bench/live-snapvirt-script.ts: connect, look up, `snapshotCreateXML`, close: ' +
      'the same driver path, with the `transaction` command timed inside that process), which gives the pause. ' +
      'The floor script (bench/live-floor-script.ts) does parallel `qemu-img create`, pipelined `blockdev-add`, one `transaction`, nothing else. ' +
      'Pause = the transaction\'s round trip measured by the client; for libvirt, from libvirtd\'s monitor log timestamps (send → reply).',
    ],
    tables: [
      { caption: 'End-to-end', rows: e2eRows },
      { caption: 'Guest-visible pause (the transaction)', rows: pauseRows },
    ],
    targets,
  };
}
