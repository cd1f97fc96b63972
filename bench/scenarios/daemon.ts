/**
 * Scenario 6: real virsh → snapvirtd against real virsh → libvirtd, same run, same
 * machine: a live 8-disk atomic disk-only snapshot (TCG), an offline 8-disk external
 * snapshot (against the qemu-img floor, 8 × `qemu-img create -b`), and `virsh list`.
 * Every side is one virsh process per command, so both daemons are timed as users reach them.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { libvirtMissing, libvirtOf } from '../context.js';
import { fmtMs, fmtRatio, row, skippedRow, type ResultRow, type ScenarioResult, type TargetCheck } from '../report.js';
import { repeat, type Summary } from '../stats.js';
import type { TimedRun } from '../run-timed.js';
import { createDisks, domainXml } from '../qemu-session.js';
import { startSnapvirtDaemon } from '../snapvirt-daemon.js';
import { qemuImgFloor } from './offline-snapshots.js';

type Virsh = (args: readonly string[]) => Promise<TimedRun>;

const DISKS = 8;

/** Defines `name` with 8 fresh disks through `virsh define`. */
async function defineDomain(virsh: Virsh, dir: string, name: string): Promise<void> {
  const xmlPath = join(dir, `${name}.xml`);
  await writeFile(xmlPath, domainXml(name, await createDisks(join(dir, name), 'd', DISKS)));
  await virsh(['define', xmlPath]);
}

/** Snapshots `name` runs times (after one untimed warm-up), one virsh process each. */
async function snapshots(virsh: Virsh, name: string, runs: number): Promise<Summary> {
  await virsh(['snapshot-create-as', name, 'w', '--disk-only', '--atomic']);
  return repeat(runs, async (i) => (await virsh(['snapshot-create-as', name, `r${i}`, '--disk-only', '--atomic'])).ms);
}

function target(text: string, mine: Summary | undefined, base: Summary | undefined, limit: number, why: string): TargetCheck {
  if (!mine || !base) return { target: text, measured: why, met: undefined };
  const r = mine.median / base.median;
  return { target: text, measured: `${fmtMs(mine.median)} ms vs ${fmtMs(base.median)} ms = ${fmtRatio(r)}`, met: r <= limit };
}

/** Runs scenario 6. */
export async function benchDaemon(ctx: BenchContext): Promise<ScenarioResult> {
  const dir = join(ctx.workDir, 'daemon');
  const lv = libvirtOf(ctx);
  const missing = libvirtMissing(ctx);
  ctx.log('daemon: starting snapvirtd');
  const sd = await startSnapvirtDaemon(ctx.snapvirtdBin, join(dir, 'snapvirtd'));
  const live: ResultRow[] = [];
  const offline: ResultRow[] = [];
  const list: ResultRow[] = [];
  const targets: TargetCheck[] = [];
  try {
    ctx.log('daemon: offline 8 disks, qemu-img floor');
    const seq = await qemuImgFloor(await createDisks(join(dir, 'floor-seq'), 'd', DISKS), 'external', false, ctx.runs);
    const par = await qemuImgFloor(await createDisks(join(dir, 'floor-par'), 'd', DISKS), 'external', true, ctx.runs);
    ctx.log('daemon: offline 8 disks, virsh → snapvirtd');
    await defineDomain(sd.virsh, dir, 'sv-bench-doff');
    const offSd = await snapshots(sd.virsh, 'sv-bench-doff', ctx.runs);
    let offLv: Summary | undefined;
    if (lv) {
      ctx.log('daemon: offline 8 disks, virsh → libvirtd');
      await defineDomain(lv.virsh, join(dir, 'libvirt'), 'sv-bench-doff');
      offLv = await snapshots(lv.virsh, 'sv-bench-doff', ctx.runs);
    }
    offline.push(
      row('8 disks: qemu-img floor, sequential (8 × qemu-img create -b)', seq),
      row('8 disks: qemu-img floor, parallel', par, { 'floor seq': seq }),
      row('8 disks: virsh → snapvirtd snapshot-create-as --disk-only --atomic', offSd, { 'floor seq': seq, 'floor par': par, libvirtd: offLv }),
      offLv ? row('8 disks: virsh → libvirtd snapshot-create-as --disk-only --atomic', offLv, { 'floor seq': seq, 'floor par': par })
        : skippedRow('8 disks: virsh → libvirtd', missing),
    );
    const floor = seq.median <= par.median ? seq : par;
    targets.push(target('daemon: offline 8-disk external snapshot, virsh → snapvirtd ≤ the qemu-img floor (the faster of sequential and parallel)', offSd, floor, 1, ''));

    ctx.log('daemon: live 8 disks, virsh → snapvirtd');
    await defineDomain(sd.virsh, dir, 'sv-bench-dlive');
    await sd.virsh(['start', 'sv-bench-dlive']);
    let liveSd: Summary;
    let liveLv: Summary | undefined;
    let listSd: Summary;
    let listLv: Summary | undefined;
    try {
      liveSd = await snapshots(sd.virsh, 'sv-bench-dlive', ctx.runs);
      if (lv) {
        ctx.log('daemon: live 8 disks, virsh → libvirtd');
        await defineDomain(lv.virsh, join(dir, 'libvirt'), 'sv-bench-dlive');
        await lv.virsh(['start', 'sv-bench-dlive']);
        liveLv = await snapshots(lv.virsh, 'sv-bench-dlive', ctx.runs);
      }
      // Both daemons now hold the same two domains, one running: list what a user would see.
      ctx.log('daemon: virsh list');
      await sd.virsh(['list']);
      listSd = await repeat(ctx.runs, async () => (await sd.virsh(['list'])).ms);
      if (lv) {
        await lv.virsh(['list']);
        listLv = await repeat(ctx.runs, async () => (await lv.virsh(['list'])).ms);
      }
    } finally {
      await sd.virsh(['destroy', 'sv-bench-dlive']).catch(() => undefined);
      if (lv) await lv.virsh(['destroy', 'sv-bench-dlive']).catch(() => undefined);
    }
    live.push(
      row('8 disks: virsh → snapvirtd snapshot-create-as --disk-only --atomic', liveSd, { libvirtd: liveLv }),
      liveLv ? row('8 disks: virsh → libvirtd snapshot-create-as --disk-only --atomic', liveLv) : skippedRow('8 disks: virsh → libvirtd', missing),
    );
    list.push(
      row('virsh → snapvirtd list', listSd, { libvirtd: listLv }),
      listLv ? row('virsh → libvirtd list', listLv) : skippedRow('virsh → libvirtd list', missing),
    );
    targets.push(target('daemon: live 8-disk atomic snapshot end-to-end, virsh → snapvirtd ≤ 0.5× virsh → libvirtd', liveSd, liveLv, 0.5, missing));
    targets.push(target('daemon: `virsh list`, virsh → snapvirtd ≤ 1.2× virsh → libvirtd', listSd, listLv, 1.2, missing));
  } finally {
    ctx.log('daemon: stopping snapvirtd');
    await sd.stop();
  }
  return {
    title: '6. Real virsh through snapvirtd against real virsh through libvirtd',
    notes: [
      'The same virsh 9.0 binary, one process per command, against a private snapvirtd (bin/snapvirtd --socket, its own state directory, ' +
      'SNAPVIRT_QEMU_ACCEL=tcg; `virsh -c qemu+unix:///session?socket=…`) and against the private libvirtd. Each side defines its own ' +
      'domains with 8 empty 64 MiB qcow2 disks through `virsh define`, takes one untimed warm-up snapshot, then one snapshot per run, each ' +
      'adding one overlay per disk. Live: the domain started with `virsh start` (TCG, idle in SeaBIOS). Offline: a shut-off domain; its floor ' +
      'is 8 × `qemu-img create -f qcow2 -b <top> -F qcow2 <overlay>`, sequential and all at once, measured in the same run. ' +
      '`virsh list` runs while each daemon holds the same two domains, one running.',
    ],
    tables: [
      { caption: 'Live atomic disk-only snapshot, 8 disks (end-to-end)', rows: live },
      { caption: 'Offline external snapshot, 8 disks (end-to-end)', rows: offline },
      { caption: 'virsh list', rows: list },
    ],
    targets,
  };
}
