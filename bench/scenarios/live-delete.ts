/**
 * Scenario 8: delete of an external disk-only snapshot of a running domain (TCG, idle in
 * SeaBIOS), 2 disks, after 64 MiB per disk written through the monitor since it was taken:
 * the merge of the active layer into its base. Each run takes a fresh snapshot and writes
 * (untimed), then only the delete is timed, end to end.
 *
 * snapvirt (its CLI) merges before its commit point and keeps the base's overwritten bytes
 * in an undo image, so the delete can be aborted (docs/ARCHITECTURE.md, *Jobs*). The floor
 * is the bare QMP a minimal tool would send (both disks' active block-commit at once, READY,
 * block-job-complete), in one warm process: nothing undoable, nothing journaled. libvirt is
 * virsh snapshot-delete against the private libvirtd (9.0 merges external snapshots of a
 * running domain with the same active block-commit).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { libvirtMissing, libvirtOf } from '../context.js';
import { parseDomainXML } from '../../src/conf/domain-xml.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';
import { QemuProcess } from '../../src/drivers/qemu/domain/qemu-process.js';
import { diskNodeNames } from '../../src/drivers/qemu/qmp/disk-node-names.js';
import { FloorQmp } from '../qmp-floor-client.js';
import { row, skippedRow, type ResultRow, type ScenarioResult } from '../report.js';
import { run } from '../run-timed.js';
import { summarize, type Summary } from '../stats.js';
import { createDisks, diskTarget, domainXml, SnapvirtSession } from '../qemu-session.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

const DISKS = 2;
const WRITTEN_MIB = 64;

/** The HMP line that writes the run's data into disk `i` whose device id is `device`. */
const hmpWrite = (device: string): string => `qemu-io -d /machine/peripheral/${device}/virtio-backend "write -P 0x5a 0 ${WRITTEN_MIB}M"`;

/** Polls until `check` says yes. */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!await check()) await new Promise((r) => setTimeout(r, 5));
}

type Jobs = { device: string; ready: boolean }[];

/** The floor: every disk's active block-commit at once, pivoted, on a bare QEMU. */
async function benchFloor(ctx: BenchContext, dir: string): Promise<Summary> {
  ctx.log('live delete: floor');
  const disks = await createDisks(join(dir, 'floor'), 'd', DISKS, 128);
  const runtimeDir = join(dir, 'rt-floor');
  const proc = await QemuProcess.start({ def: parseDomainXML(domainXml('live-delete-floor', disks)), runtimeDir, accel: 'tcg' });
  await proc.qmp.close();
  const qmp = await FloorQmp.connect(join(runtimeDir, 'qmp.sock'));
  const bases = disks.map((_, i) => diskNodeNames(diskTarget(i)).format);
  const times: number[] = [];
  try {
    for (let r = -1; r < ctx.runs; r++) {
      const tops = disks.map((d, i) => ({ file: `${d}.r${r + 1}`, node: `floor-${r + 1}-${i}` }));
      await Promise.all(tops.map((t, i) => run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', disks[i]!, '-F', 'qcow2', t.file])));
      for (const [i, t] of tops.entries()) {
        await qmp.execute('blockdev-add', { driver: 'qcow2', 'node-name': t.node, file: { driver: 'file', filename: t.file }, backing: null });
        await qmp.execute('blockdev-snapshot', { node: bases[i]!, overlay: t.node });
        await qmp.execute('human-monitor-command', { 'command-line': hmpWrite(`disk-${diskTarget(i)}`) });
      }
      const t0 = performance.now();
      await Promise.all(tops.map((t, i) => qmp.execute('block-commit', { 'job-id': `c${i}`, device: t.node, 'base-node': bases[i]! })));
      const jobs = async (): Promise<Jobs> => (await qmp.execute('query-block-jobs')) as Jobs;
      await until(async () => (await jobs()).filter((j) => j.ready).length === DISKS);
      await Promise.all(tops.map((_, i) => qmp.execute('block-job-complete', { device: `c${i}` })));
      await until(async () => (await jobs()).length === 0);
      if (r >= 0) times.push(performance.now() - t0);
      await Promise.all(tops.map((t) => qmp.execute('blockdev-del', { 'node-name': t.node }).catch(() => undefined)));
    }
  } finally {
    qmp.close();
    await (await QemuProcess.attach(runtimeDir).catch(() => undefined))?.stop();
  }
  return summarize(times);
}

/** snapvirt's CLI: snapshot-delete on a running domain of qemu:///session. */
async function benchSnapvirt(ctx: BenchContext, dir: string): Promise<Summary> {
  ctx.log('live delete: snapvirt CLI');
  const name = 'livedelete';
  const sv = new SnapvirtSession(ctx.snapvirtBin, join(dir, 'state'));
  sv.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
  await sv.define(name, await createDisks(join(dir, 'snapvirt'), 'd', DISKS, 128));
  await sv.cmd(`start ${name}`, 60_000);
  const times: number[] = [];
  try {
    for (let r = -1; r < ctx.runs; r++) {
      const snap = `s${r + 1}`;
      await sv.cmd(`snapshot-create-as ${name} ${snap} --disk-only --atomic`, 60_000);
      for (let i = 0; i < DISKS; i++) await sv.cmd(`qemu-monitor-command ${name} --hmp '${hmpWrite(`disk-${diskTarget(i)}`)}'`, 60_000);
      const t = await sv.cmd(`snapshot-delete ${name} ${snap}`, 120_000);
      if (r >= 0) times.push(t.ms);
    }
  } finally {
    await sv.cmd(`destroy ${name}`, 60_000).catch(() => undefined);
  }
  return summarize(times);
}

/** libvirt's virsh snapshot-delete on a running domain, or why it is missing. */
async function benchLibvirt(ctx: BenchContext, dir: string): Promise<Summary | string> {
  const lv = libvirtOf(ctx);
  if (!lv) return libvirtMissing(ctx);
  ctx.log('live delete: libvirt');
  const name = 'sv-bench-live-delete';
  const xmlPath = join(dir, 'libvirt.xml');
  await writeFile(xmlPath, domainXml(name, await createDisks(join(dir, 'libvirt'), 'd', DISKS, 128)));
  await lv.virsh(['define', xmlPath]);
  await lv.virsh(['start', name]);
  const times: number[] = [];
  try {
    for (let r = -1; r < ctx.runs; r++) {
      const snap = `s${r + 1}`;
      await lv.virsh(['snapshot-create-as', name, snap, '--disk-only', '--atomic']);
      for (let i = 0; i < DISKS; i++) await lv.virsh(['qemu-monitor-command', name, '--hmp', hmpWrite(`virtio-disk${i}`)]);
      const t = await lv.virsh(['snapshot-delete', name, snap]);
      if (r >= 0) times.push(t.ms);
    }
    return summarize(times);
  } catch (err) {
    return `virsh failed: ${err instanceof Error ? err.message.split('\n').slice(-2).join(' ') : String(err)}`;
  } finally {
    await lv.virsh(['destroy', name]).catch(() => undefined);
  }
}

/** Runs scenario 8. */
export async function benchLiveDelete(ctx: BenchContext): Promise<ScenarioResult> {
  const dir = join(ctx.workDir, 'live-delete');
  const floor = await benchFloor(ctx, dir);
  const snapvirt = await benchSnapvirt(ctx, dir);
  const lv = await benchLibvirt(ctx, dir);
  const libvirt = typeof lv === 'string' ? undefined : lv;
  const rows: ResultRow[] = [
    row(`floor: ${DISKS} active block-commits at once, pivoted (bare QMP, one warm process)`, floor),
    row('snapvirt CLI snapshot-delete (undoable merges, journaled)', snapvirt, { floor, libvirt }),
    libvirt ? row('libvirt virsh snapshot-delete', libvirt, { floor }) : skippedRow('libvirt virsh snapshot-delete', typeof lv === 'string' ? lv : ''),
  ];
  return {
    title: `8. Live delete of an external snapshot, ${DISKS} disks, ${WRITTEN_MIB} MiB merged per disk`,
    notes: [
      `A running TCG QEMU per side (${DISKS} × 128 MiB qcow2 disks, virtio, the guest idles in SeaBIOS). Per run, untimed: an external ` +
      `disk-only snapshot, then ${WRITTEN_MIB} MiB written into each disk through the monitor (HMP qemu-io); timed: the delete, which merges ` +
      'the snapshot\'s overlays (the disks\' active layers) into their bases, end to end (one process for snapvirt and virsh). ' +
      'snapvirt copies into each base through a copy-before-write filter that keeps the overwritten bytes in an undo image, and ' +
      'ends with a short active commit of the temporary top that took the guest\'s writes meanwhile; the disks are merged one after the other. ' +
      'The floor sends each disk\'s active block-commit at once and pivots them (no journal, no undo, no checks).',
    ],
    tables: [{ caption: 'End-to-end', rows }],
    targets: [],
  };
}
