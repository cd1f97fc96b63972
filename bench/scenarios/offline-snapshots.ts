/**
 * Scenario 3: snapshots of a shut-off domain with 1, 8 and 32 small qcow2 disks, external
 * (--disk-only: one overlay per disk) and internal (a qcow2 tag per disk), end-to-end
 * through the CLI. Baselines: the qemu-img calls a minimal script would make (one process
 * per disk, sequential and all in parallel) and libvirt's qemu driver when it runs.
 * Every run adds one snapshot on top of the previous one, for every tool alike.
 */
import { join } from 'node:path';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import type { BenchContext } from '../context.js';
import { libvirtMissing, libvirtOf } from '../context.js';
import { fmtMs, fmtRatio, row, skippedRow, type ResultRow, type ScenarioResult, type TargetCheck } from '../report.js';
import { repeat, type Summary } from '../stats.js';
import { run } from '../run-timed.js';
import { createDisks, domainXml, SnapvirtSession } from '../qemu-session.js';
import { writeFile } from 'node:fs/promises';

type Kind = 'external' | 'internal';

/** qemu-img for every disk: sequentially, or all at once (also the daemon scenario's floor). */
export async function qemuImgFloor(disks: string[], kind: Kind, parallel: boolean, runs: number): Promise<Summary> {
  const tops = [...disks];
  return repeat(runs, async (i) => {
    const argsFor = (d: number): string[] => kind === 'external'
      ? ['create', '-q', '-f', 'qcow2', '-b', tops[d]!, '-F', 'qcow2', `${disks[d]}.f${i}`]
      : ['snapshot', '-c', `f${i}`, disks[d]!];
    const t0 = performance.now();
    if (parallel) await Promise.all(disks.map((_, d) => run('qemu-img', argsFor(d))));
    else for (let d = 0; d < disks.length; d++) await run('qemu-img', argsFor(d));
    const ms = performance.now() - t0;
    if (kind === 'external') for (let d = 0; d < disks.length; d++) tops[d] = `${disks[d]}.f${i}`;
    return ms;
  });
}

/** Runs scenario 3. */
export async function benchOfflineSnapshots(ctx: BenchContext): Promise<ScenarioResult> {
  const counts = ctx.quick ? [1, 8] : [1, 8, 32];
  const lv = libvirtOf(ctx);
  const rows: Record<Kind, ResultRow[]> = { external: [], internal: [] };
  const targets: TargetCheck[] = [];
  for (const n of counts) {
    for (const kind of ['external', 'internal'] as const) {
      const dir = join(ctx.workDir, `offline-${kind}-${n}`);
      const flags = kind === 'external' ? ' --disk-only --atomic' : ' --atomic';
      ctx.log(`offline ${kind} ${n} disks: qemu-img floor`);
      const seq = await qemuImgFloor(await createDisks(join(dir, 'floor-seq'), 'd', n), kind, false, ctx.runs);
      const par = await qemuImgFloor(await createDisks(join(dir, 'floor-par'), 'd', n), kind, true, ctx.runs);

      ctx.log(`offline ${kind} ${n} disks: snapvirt`);
      const sv = new SnapvirtSession(ctx.snapvirtBin, join(dir, 'snapvirt-state'));
      await sv.define(`off${n}`, await createDisks(join(dir, 'snapvirt'), 'd', n));
      const snapvirt = await repeat(ctx.runs, async (i) => (await sv.cmd(`snapshot-create-as off${n} s${i}${flags}`)).ms);
      ctx.log(`offline ${kind} ${n} disks: snapvirt library`);
      const createFlags = kind === 'external' ? C.DISK_ONLY | C.ATOMIC : C.ATOMIC;
      const library = await sv.libraryCreates(`off${n}`, createFlags, 'lib', ctx.runs);

      let viaQemuImg: Summary | undefined;
      if (kind === 'external' && n <= 8) {
        // The same with the native overlay writer switched off (not at 32 disks, to keep the bench short): what one qemu-img per disk costs inside snapvirt.
        const svImg = new SnapvirtSession(ctx.snapvirtBin, join(dir, 'snapvirt-img-state'));
        svImg.env.SNAPVIRT_NATIVE_QCOW2 = '0';
        await svImg.define(`off${n}`, await createDisks(join(dir, 'snapvirt-img'), 'd', n));
        viaQemuImg = await repeat(ctx.runs, async (i) => (await svImg.cmd(`snapshot-create-as off${n} s${i}${flags}`)).ms);
      }

      let libvirt: Summary | undefined;
      if (lv) {
        ctx.log(`offline ${kind} ${n} disks: libvirt`);
        const name = `sv-bench-off-${kind}-${n}`;
        const xmlPath = join(dir, 'libvirt.xml');
        await writeFile(xmlPath, domainXml(name, await createDisks(join(dir, 'libvirt'), 'd', n)));
        await lv.virsh(['define', xmlPath]);
        libvirt = await repeat(ctx.runs, async (i) => (await lv.virsh(['snapshot-create-as', name, `s${i}`, ...flags.trim().split(' ')])).ms);
      }

      const baselines = { 'floor seq': seq, 'floor par': par, libvirt };
      const out = rows[kind];
      out.push(row(`${n} disk(s): qemu-img floor, sequential`, seq));
      out.push(row(`${n} disk(s): qemu-img floor, parallel`, par, { 'floor seq': seq }));
      out.push(row(`${n} disk(s): snapvirt snapshot-create-as${flags}`, snapvirt, baselines));
      if (viaQemuImg) out.push(row(`${n} disk(s): snapvirt, SNAPVIRT_NATIVE_QCOW2=0`, viaQemuImg, baselines));
      out.push(row(`${n} disk(s): snapvirt library, one warm process (snapshotCreateXML)`, library, baselines));
      out.push(libvirt ? row(`${n} disk(s): libvirt virsh snapshot-create-as${flags}`, libvirt, { 'floor seq': seq, 'floor par': par })
        : skippedRow(`${n} disk(s): libvirt`, libvirtMissing(ctx)));
      const floor = seq.median <= par.median ? seq : par;
      const r = snapvirt.median / floor.median;
      targets.push({
        target: `offline ${kind}, ${n} disk(s): snapvirt end-to-end ≤ the qemu-img floor (the faster of sequential and parallel)`,
        measured: `${fmtMs(snapvirt.median)} ms vs ${fmtMs(floor.median)} ms = ${fmtRatio(r)}` +
          (libvirt ? `; libvirt ${fmtMs(libvirt.median)} ms` : ''),
        met: r <= 1,
      });
      const rl = library.median / floor.median;
      targets.push({
        target: `offline ${kind}, ${n} disk(s): snapvirt library in a warm process ≤ the qemu-img floor`,
        measured: `${fmtMs(library.median)} ms vs ${fmtMs(floor.median)} ms = ${fmtRatio(rl)}` +
          (libvirt ? `; libvirt ${fmtMs(libvirt.median)} ms` : ''),
        met: rl <= 1,
      });
    }
  }
  return {
    title: '3. Offline snapshots with 1, 8 and 32 disks',
    notes: [
      'Shut-off domain, empty 64 MiB qcow2 disks. snapvirt and virsh are timed end-to-end (one CLI process per snapshot; ' +
      'virsh talks to the private libvirtd). The floor is the bare qemu-img calls with no metadata, no journal and no fsync: ' +
      '`qemu-img create -f qcow2 -b <top> -F qcow2 <overlay>` or `qemu-img snapshot -c <tag> <disk>` per disk. ' +
      'snapvirt writes external overlays natively (qcow2-overlay.ts) unless SNAPVIRT_NATIVE_QCOW2=0; internal snapshots always need qemu-img. ' +
      'The library rows are the same domain driven through `snapshotCreateXML` in one warm Node process (bench/library-create-script.ts: ' +
      'connect once, one untimed snapshot, then the timed ones), the way a management tool that keeps its process uses snapvirt: ' +
      'the whole driver path (store, journal with fsync, lock, files) without Node\'s start-up.',
    ],
    tables: [
      { caption: 'External (--disk-only --atomic)', rows: rows.external },
      { caption: 'Internal (--atomic)', rows: rows.internal },
    ],
    targets,
  };
}
