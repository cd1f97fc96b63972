/**
 * Scenario 5: revert to, and delete (merge), a snapshot of a shut-off domain after 64 MiB
 * of data per disk changed since it was taken. Each run gets a fresh domain: disks, the
 * snapshot s1, then 64 MiB written with qemu-io into what the disk uses after s1 (the
 * overlay for external, the image itself for internal); only the revert or delete is
 * timed. Baselines: the qemu-img calls a minimal script would make (per disk, in
 * parallel), and libvirt 9.0 where it can do the operation.
 */
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { BenchContext } from '../context.js';
import { libvirtMissing, libvirtOf } from '../context.js';
import { row, skippedRow, type ResultRow, type ScenarioResult } from '../report.js';
import { summarize, type Summary } from '../stats.js';
import { run } from '../run-timed.js';
import { createDisks, diskTarget, domainXml, SnapvirtSession } from '../qemu-session.js';

type Kind = 'external' | 'internal';
type Op = 'revert' | 'delete';

const DISKS = 2;
const CHANGED_MIB = 64;

/** Writes CHANGED_MIB of a pattern into every image, in parallel. */
async function dirty(images: readonly string[]): Promise<void> {
  await Promise.all(images.map((p) => run('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x5a 0 ${CHANGED_MIB}M`, p])));
}

/** The overlay path used for disk `d` of snapshot s1 (given explicitly, so every tool uses the same names). */
function overlayOf(disk: string): string {
  return `${disk}.s1`;
}

/** One prepared run: the disks and what to time. */
type Prepared = () => Promise<number>;

async function prepareFloor(dir: string, kind: Kind, op: Op): Promise<Prepared> {
  const disks = await createDisks(dir, 'd', DISKS, 128);
  if (kind === 'external') {
    await Promise.all(disks.map((d) => run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', d, '-F', 'qcow2', overlayOf(d)])));
    await dirty(disks.map(overlayOf));
    return op === 'revert'
      // Revert = a fresh overlay on the frozen image (the branch left behind keeps its file).
      ? () => timeAll(disks.map((d) => ['create', '-q', '-f', 'qcow2', '-b', d, '-F', 'qcow2', `${d}.r1`]))
      // Delete = merge the overlay's 64 MiB into the image below, then drop the overlay.
      : () => timeAll(disks.map((d) => ['commit', '-q', '-f', 'qcow2', '-d', overlayOf(d)]));
  }
  await Promise.all(disks.map((d) => run('qemu-img', ['snapshot', '-c', 's1', d])));
  await dirty(disks);
  return () => timeAll(disks.map((d) => ['snapshot', op === 'revert' ? '-a' : '-d', 's1', d]));
}

async function timeAll(argLists: string[][]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(argLists.map((a) => run('qemu-img', a)));
  return performance.now() - t0;
}

function diskspecs(disks: readonly string[]): string {
  return disks.map((d, i) => ` --diskspec ${diskTarget(i)},file=${overlayOf(d)}`).join('');
}

async function prepareSnapvirt(ctx: BenchContext, dir: string, kind: Kind, op: Op): Promise<Prepared> {
  const disks = await createDisks(dir, 'd', DISKS, 128);
  const sv = new SnapvirtSession(ctx.snapvirtBin, join(dir, 'state'));
  await sv.define('rd', disks);
  await sv.cmd(kind === 'external' ? `snapshot-create-as rd s1 --disk-only --atomic${diskspecs(disks)}` : 'snapshot-create-as rd s1 --atomic');
  await dirty(kind === 'external' ? disks.map(overlayOf) : disks);
  return async () => (await sv.cmd(op === 'revert' ? 'snapshot-revert rd s1' : 'snapshot-delete rd s1')).ms;
}

async function prepareLibvirt(ctx: BenchContext, dir: string, kind: Kind, op: Op, seq: number): Promise<Prepared> {
  const lv = libvirtOf(ctx)!;
  const disks = await createDisks(dir, 'd', DISKS, 128);
  const name = `sv-bench-rd-${kind}-${op}-${seq}`;
  const xmlPath = join(dir, 'libvirt.xml');
  await writeFile(xmlPath, domainXml(name, disks));
  await lv.virsh(['define', xmlPath]);
  const create = kind === 'external'
    ? ['snapshot-create-as', name, 's1', '--disk-only', '--atomic', ...disks.flatMap((d, i) => ['--diskspec', `${diskTarget(i)},file=${overlayOf(d)}`])]
    : ['snapshot-create-as', name, 's1', '--atomic'];
  await lv.virsh(create);
  await dirty(kind === 'external' ? disks.map(overlayOf) : disks);
  return async () => {
    const ms = (await lv.virsh(op === 'revert' ? ['snapshot-revert', name, 's1'] : ['snapshot-delete', name, 's1'])).ms;
    await lv.virsh(['undefine', name, '--snapshots-metadata']).catch(() => undefined);
    return ms;
  };
}

/** Runs `prepare` then the timed operation, `runs` times. */
async function measure(runs: number, prepare: (i: number) => Promise<Prepared>): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await (await prepare(i))());
  return summarize(samples);
}

/** Runs scenario 5. */
export async function benchRevertDelete(ctx: BenchContext): Promise<ScenarioResult> {
  const rows: ResultRow[] = [];
  const lv = libvirtOf(ctx);
  let seq = 0;
  for (const kind of ['external', 'internal'] as const) {
    for (const op of ['revert', 'delete'] as const) {
      const base = join(ctx.workDir, `rd-${kind}-${op}`);
      ctx.log(`revert/delete: ${kind} ${op}`);
      const floor = await measure(ctx.runs, (i) => prepareFloor(join(base, `floor-${i}`), kind, op));
      const snapvirt = await measure(ctx.runs, (i) => prepareSnapvirt(ctx, join(base, `sv-${i}`), kind, op));
      let libvirt: Summary | string;
      if (!lv) libvirt = libvirtMissing(ctx);
      else if (kind === 'external' && op === 'revert') libvirt = 'libvirt 9.0 refuses: "revert to external snapshot not supported yet" (supported from 9.9)';
      else libvirt = await measure(ctx.runs, (i) => prepareLibvirt(ctx, join(base, `lv-${i}`), kind, op, seq++));
      const floorLabel = kind === 'external'
        ? (op === 'revert' ? 'qemu-img create of a fresh overlay per disk' : 'qemu-img commit -d of the overlay per disk')
        : `qemu-img snapshot ${op === 'revert' ? '-a' : '-d'} per disk`;
      rows.push(
        row(`${kind} ${op}: floor (${floorLabel}, parallel)`, floor),
        row(`${kind} ${op}: snapvirt snapshot-${op}`, snapvirt, { floor, libvirt: typeof libvirt === 'string' ? undefined : libvirt }),
        typeof libvirt === 'string' ? skippedRow(`${kind} ${op}: libvirt`, libvirt) : row(`${kind} ${op}: libvirt virsh snapshot-${op}`, libvirt, { floor }),
      );
    }
  }
  return {
    title: `5. Revert and delete with ${CHANGED_MIB} MiB changed per disk (offline, ${DISKS} disks)`,
    notes: [
      `A fresh shut-off domain per run with ${DISKS} qcow2 disks of 128 MiB; snapshot s1 is taken (external overlays named with --diskspec, ` +
      `or internal tags), then ${CHANGED_MIB} MiB per disk are written with qemu-io into what the disk uses after s1. ` +
      'Only `snapshot-revert s1` or `snapshot-delete s1` is timed (end-to-end CLI). Deleting an external s1 merges the overlay (the 64 MiB) into the image below.',
    ],
    tables: [{ caption: `Revert and delete, ${DISKS} disks × ${CHANGED_MIB} MiB changed`, rows }],
    targets: [],
  };
}
