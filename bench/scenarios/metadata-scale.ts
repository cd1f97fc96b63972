/**
 * Scenario 2: metadata at scale. A domain with 10,000 snapshots in a deep chain and in a
 * wide tree, loaded from the same test-driver node file by virsh and snapvirt (every
 * command is one process that loads the whole file, as the test driver keeps no state
 * between processes); then snapvirt's persistent qemu:///session store with 10,000
 * snapshots, where "creating one more" is compared with creating the first.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { fmtMs, fmtRatio, row, skippedRow, type ResultRow, type ScenarioResult, type TargetCheck } from '../report.js';
import { repeat, repeatWithLimit, summarize, type Summary, type TimedOut } from '../stats.js';
import { run, timeCommand } from '../run-timed.js';
import { BIG_DOMAIN, snapName, testNodeFileXml, type TreeShape } from '../test-node-file.js';
import { createDisks, SnapvirtSession } from '../qemu-session.js';
import { populateQemuStore } from '../populate-store.js';

type Tool = 'snapvirt' | 'virsh';

function toolArgs(ctx: BenchContext, tool: Tool, uri: string, command: string): [string, string[]] {
  return tool === 'snapvirt'
    ? [process.execPath, [ctx.snapvirtBin, '-c', uri, command]]
    : ['virsh', ['-c', uri, command]];
}

/** Measures the test-driver commands on one node file for both tools. */
async function benchNodeFile(
  ctx: BenchContext, count: number, shape: TreeShape, only: readonly string[] | undefined, rows: ResultRow[], results: Map<string, Summary>,
): Promise<void> {
  const file = join(ctx.workDir, `node-${shape}-${count}.xml`);
  await writeFile(file, testNodeFileXml(count, shape));
  const uri = `test://${file}`;
  // The node file must load in virsh too, or the comparison is meaningless.
  const names = (await run('virsh', ['-c', uri, `snapshot-list ${BIG_DOMAIN} --name`])).trim().split('\n').filter((l) => l.length > 0);
  if (names.length !== count) throw new Error(`virsh lists ${names.length} snapshots in ${file}, expected ${count}`);
  const mid = snapName(Math.ceil(count / 2));
  const cases: [string, string][] = [
    ['load only (list --all)', 'list --all'],
    ['snapshot-list', `snapshot-list ${BIG_DOMAIN}`],
    ['snapshot-list --tree', `snapshot-list ${BIG_DOMAIN} --tree`],
    [`snapshot-info ${mid}`, `snapshot-info ${BIG_DOMAIN} ${mid}`],
    ['snapshot-create-as (one more)', `snapshot-create-as ${BIG_DOMAIN} extra`],
    [`snapshot-delete ${mid}`, `snapshot-delete ${BIG_DOMAIN} ${mid}`],
  ];
  for (const [label, command] of cases.filter(([l]) => !only || only.some((o) => l.startsWith(o)))) {
    const per: Partial<Record<Tool, Summary>> = {};
    for (const tool of ['virsh', 'snapvirt'] as const) {
      ctx.log(`metadata ${shape} ${count}: ${tool} ${label}`);
      const [cmd, args] = toolArgs(ctx, tool, uri, command);
      per[tool] = await repeat(ctx.runs, () => timeCommand(cmd, args, { env: { ...process.env, LC_ALL: 'C' } }));
      results.set(`${shape}:${tool}:${label}`, per[tool]!);
    }
    rows.push(row(`${shape}, ${count}: virsh ${label}`, per.virsh!));
    rows.push(row(`${shape}, ${count}: snapvirt ${label}`, per.snapvirt!, { virsh: per.virsh }));
  }
}

/** Per-command limit at scale: a case slower than this is reported as such, not waited for. */
const QEMU_STORE_LIMIT_MS = 20_000;

function rowOrTimeout(label: string, m: Summary | TimedOut, baselines: Record<string, Summary | undefined> = {}): ResultRow {
  if (!('timedOut' in m)) return row(label, m, baselines);
  return skippedRow(label, m.timedOut.startsWith('failed:') ? m.timedOut : `killed: ${m.timedOut.replace(/^.* did not/, 'did not')}`);
}

/** One run of a command that is too slow to repeat: a single-run Summary, or why it has none (timeout or error). */
async function probeOnce(fn: () => Promise<number>): Promise<Summary | TimedOut> {
  try {
    return await repeatWithLimit(1, fn);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return { timedOut: `failed: ${text.slice(text.indexOf('):') + 2).trim().split('\n').join(' ')}` };
  }
}

/** What the qemu-store part found. */
interface QemuStoreResult {
  first: Summary;
  atScale: { count: number; next: Summary | TimedOut; tree: Record<TreeShape, Summary | TimedOut> };
}

/** A qemu:///session store whose domain `meta` (one disk) has `count` snapshots (a chain, or all children of s1). */
async function storeWith(ctx: BenchContext, dir: string, count: number, shape: TreeShape = 'deep'): Promise<SnapvirtSession> {
  const [disk] = await createDisks(dir, 'disk', 1);
  const sv = new SnapvirtSession(ctx.snapvirtBin, join(dir, 'state'));
  await sv.define('meta', [disk!]);
  await sv.cmd('snapshot-create-as meta s1');
  ctx.log(`metadata qemu: populating a store with ${count} snapshots (${shape})`);
  await populateQemuStore(sv.stateDir, 'meta', count, shape);
  return sv;
}

/** The qemu:///session store: first snapshot vs one more at growing sizes, and the reads. */
async function benchQemuStore(ctx: BenchContext, scale: number, rows: ResultRow[]): Promise<QemuStoreResult> {
  const base = join(ctx.workDir, 'meta-qemu');
  // Creating the first snapshot: a fresh store and disk per run (setup not timed).
  const firstRuns: number[] = [];
  const firstDeletes: number[] = [];
  for (let i = 0; i < ctx.runs; i++) {
    const dir = join(base, `first-${i}`);
    const [disk] = await createDisks(dir, 'disk', 1);
    const sv = new SnapvirtSession(ctx.snapvirtBin, join(dir, 'state'));
    await sv.define('meta', [disk!]);
    firstRuns.push((await sv.cmd('snapshot-create-as meta s1')).ms);
    firstDeletes.push((await sv.cmd('snapshot-delete meta s1')).ms);
  }
  const first = summarize(firstRuns);
  const firstDel = summarize(firstDeletes);
  rows.push(
    row('1 disk, no snapshots: create the first (internal)', first),
    row('1 disk, 1 snapshot: delete it', firstDel),
  );
  let next: Summary | TimedOut = { timedOut: 'not run' };
  const tree = {} as Record<TreeShape, Summary | TimedOut>;
  for (const count of [100, 1000, scale]) {
    const sv = await storeWith(ctx, join(base, `n${count}`), count);
    const timed = (command: string, discardStdout = false) => async (): Promise<number> =>
      (await sv.cmd(command, QEMU_STORE_LIMIT_MS, discardStdout)).ms;
    ctx.log(`metadata qemu ${count}: create one more, delete it`);
    next = await repeatWithLimit(ctx.runs, async (i) => timed(`snapshot-create-as meta n${i}`)());
    // Delete what was just created, newest first: each is the current leaf with a real qcow2 tag.
    const del = 'timedOut' in next ? next : await repeatWithLimit(ctx.runs, async (i) => timed(`snapshot-delete meta n${ctx.runs - 1 - i}`)());
    rows.push(
      rowOrTimeout(`${count} deep: create one more (internal)`, next, { first }),
      rowOrTimeout(`${count} deep: delete the current leaf`, del, { 'delete of the only one': firstDel }),
    );
    ctx.log(`metadata qemu ${count}: reads`);
    const mid = snapName(count / 2);
    rows.push(
      rowOrTimeout(`${count} deep: snapshot-list --name`, await repeatWithLimit(ctx.runs, timed('snapshot-list meta --name'))),
      rowOrTimeout(`${count} deep: snapshot-info ${mid}`, await repeatWithLimit(ctx.runs, timed(`snapshot-info meta ${mid}`))),
      rowOrTimeout(`${count} deep: snapshot-parent ${mid}`, await repeatWithLimit(ctx.runs, timed(`snapshot-parent meta ${mid}`))),
      // Every row needs the snapshot's XML (virsh fetches it per snapshot too).
      rowOrTimeout(`${count} deep: snapshot-list`, count < scale
        ? await repeatWithLimit(ctx.runs, timed('snapshot-list meta'))
        : await probeOnce(timed('snapshot-list meta'))),
    );
    // The drawing of an n-deep chain indents each line by its depth: 400 MB at 10,000, so it goes to /dev/null.
    const deepTree = await repeatWithLimit(ctx.runs, timed('snapshot-list meta --tree', count === scale));
    rows.push(rowOrTimeout(`${count} deep: snapshot-list --tree${count === scale ? ' (stdout to /dev/null)' : ''}`, deepTree));
    if (count === scale) tree.deep = deepTree;
  }
  const wide = await storeWith(ctx, join(base, `wide${scale}`), scale, 'wide');
  ctx.log(`metadata qemu ${scale} wide: --tree`);
  tree.wide = await repeatWithLimit(ctx.runs, async () => (await wide.cmd('snapshot-list meta --tree', QEMU_STORE_LIMIT_MS)).ms);
  rows.push(rowOrTimeout(`${scale} wide: snapshot-list --tree`, tree.wide));
  return { first, atScale: { count: scale, next, tree } };
}

/** Runs scenario 2. */
export async function benchMetadataScale(ctx: BenchContext): Promise<ScenarioResult> {
  const count = ctx.quick ? 1000 : 10_000;
  await mkdir(ctx.workDir, { recursive: true });
  const results = new Map<string, Summary>();
  const testRows: ResultRow[] = [];
  const emptyRows: ResultRow[] = [];
  const small = 1000;
  await benchNodeFile(ctx, small, 'deep', undefined, testRows, results);
  await benchNodeFile(ctx, small, 'wide', ['snapshot-list --tree', 'snapshot-create-as'], testRows, results);
  // The first snapshot of a domain, in the same kind of node file, for the 1.1× target.
  const empty = new Map<string, Summary>();
  await benchCreateOnEmpty(ctx, emptyRows, empty);
  // At full scale every command takes seconds in both tools (each parses 10,000 snapshots): one run each.
  const bigRows: ResultRow[] = [];
  const big = new Map<string, Summary | TimedOut>();
  if (count > small) {
    // With a <domain> in every snapshot (as real metadata has) and without (7 elements per
    // snapshot, which snapvirt's parser limit admits at 10,000; libvirt then warns per snapshot).
    for (const variant of ['full', 'slim'] as const) {
      for (const shape of ['deep', 'wide'] as const) {
        if (variant === 'full' && shape === 'wide') continue;
        const file = join(ctx.workDir, `node-${shape}-${count}-${variant}.xml`);
        await writeFile(file, testNodeFileXml(count, shape, variant === 'full'));
        for (const tool of ['virsh', 'snapvirt'] as const) {
          ctx.log(`metadata ${shape} ${count} ${variant}: ${tool} snapshot-list --tree (one run)`);
          const [cmd, args] = toolArgs(ctx, tool, `test://${file}`, `snapshot-list ${BIG_DOMAIN} --tree`);
          const m = await probeOnce(() => timeCommand(cmd, args, { timeoutMs: 60_000 }));
          big.set(`${shape}:${variant}:${tool}`, m);
          const v = big.get(`${shape}:${variant}:virsh`);
          const what = variant === 'full' ? 'snapshots with <domain>' : 'snapshots without <domain>';
          bigRows.push(rowOrTimeout(`${shape}, ${count} ${what}: ${tool} snapshot-list --tree, one run`, m,
            tool === 'snapvirt' && v && !('timedOut' in v) ? { virsh: v } : {}));
        }
      }
    }
  }

  const qemuRows: ResultRow[] = [];
  const qemu = await benchQemuStore(ctx, count, qemuRows);

  const targets: TargetCheck[] = [];
  const show = (x: Summary | TimedOut): string => 'timedOut' in x ? x.timedOut : `${fmtMs(x.median)} ms`;
  for (const shape of ['deep', 'wide'] as const) {
    const m = results.get(`${shape}:snapvirt:snapshot-list --tree`)!;
    const v = results.get(`${shape}:virsh:snapshot-list --tree`)!;
    targets.push({
      target: `${small} snapshots (${shape}, test driver): snapshot-list --tree < 300 ms end-to-end`,
      measured: `${show(m)} (virsh ${show(v)})`, met: m.median < 300,
    });
  }
  for (const key of ['deep:full', 'deep:slim', 'wide:slim']) {
    const m = big.get(`${key}:snapvirt`);
    const v = big.get(`${key}:virsh`);
    if (!m || !v) continue;
    targets.push({
      target: `${count} snapshots (${key.replace(':full', ', with <domain>').replace(':slim', ', without <domain>')}, test driver): snapshot-list --tree < 300 ms end-to-end`,
      measured: `${show(m)} (virsh ${show(v)}), one run`, met: 'timedOut' in m ? false : m.median < 300,
    });
  }
  const at = qemu.atScale;
  for (const shape of ['deep', 'wide'] as const) {
    const m = at.tree[shape];
    targets.push({
      target: `${at.count} snapshots (qemu store, ${shape}): snapshot-list --tree < 300 ms end-to-end`,
      measured: `${show(m)}${shape === 'deep' ? ' (400 MB of drawing, to /dev/null)' : ''}`,
      met: 'timedOut' in m ? false : m.median < 300,
    });
  }
  if ('timedOut' in at.next) {
    targets.push({ target: `creating snapshot ${at.count + 1} ≤ 1.1× creating the first (qemu store)`, measured: at.next.timedOut, met: false });
  } else {
    const r = at.next.median / qemu.first.median;
    targets.push({
      target: `creating snapshot ${at.count + 1} ≤ 1.1× creating the first (qemu store, internal, 1 disk)`,
      measured: `${fmtMs(at.next.median)} ms vs ${fmtMs(qemu.first.median)} ms = ${fmtRatio(r)}`, met: r <= 1.1,
    });
  }
  for (const shape of ['deep', 'wide'] as const) {
    const more = results.get(`${shape}:snapvirt:snapshot-create-as (one more)`)!;
    const first = empty.get('snapvirt')!;
    const rr = more.median / first.median;
    targets.push({
      target: `creating snapshot ${small + 1} ≤ 1.1× creating the first (test driver node file, ${shape}; each process loads the file)`,
      measured: `${fmtMs(more.median)} ms vs ${fmtMs(first.median)} ms = ${fmtRatio(rr)}`, met: rr <= 1.1,
    });
  }
  return {
    title: `2. Metadata at scale (${count} snapshots)`,
    notes: [
      `Test driver: generated node files (deep = a chain s1←s2←…; wide = s1 with every other snapshot as its child), ` +
      'each checked to load in virsh (it lists every snapshot) and given to both tools as `test:///ABS/PATH.xml`. ' +
      'Every command is one process, which parses the whole file first (the test driver keeps nothing between processes), ' +
      'so "load only" is the floor of the other rows; mutations change only that process\'s copy, so each run starts from the same file. ' +
      `At 1000 snapshots every case runs ${ctx.runs} times; at ${count} one command of either tool takes seconds to tens of seconds ` +
      '(virsh\'s test driver too), so only `snapshot-list --tree`, the command with a target, is run, once per tool, killed after 60 s.',
      'qemu:///session store (SQLite): the domain has one 64 MiB qcow2 disk; its first snapshot is made with the CLI, the other ' +
      'records are written straight into the store in one SQLite transaction (through src/store, with XML derived from the real first ' +
      'snapshot; thousands of CLI creates would take far too long), as a deep chain. "Create one more" is a real internal snapshot ' +
      '(qemu-img snapshot -c) through the CLI; "create the first" is the same command on a fresh store and disk. Sizes 100, 1000 and ' +
      `${count} show how each command grows; at ${count} the flat snapshot-list (which fetches every snapshot's XML) runs once, and ` +
      'the deep --tree writes its 400 MB drawing to /dev/null. A wide store (every snapshot a child of s1) is listed with --tree too.',
    ],
    tables: [
      { caption: `Test driver, same node file for both tools, ${small} snapshots`, rows: testRows },
      { caption: `Test driver, ${count} snapshots: one run each (every command of either tool takes seconds)`, rows: bigRows },
      { caption: 'Test driver, first snapshot of a domain without snapshots (baseline for "one more")', rows: emptyRows },
      { caption: `snapvirt qemu:///session (SQLite store), deep chains of 100, 1000 and ${count} snapshots, and a wide tree of ${count}; commands killed after ${QEMU_STORE_LIMIT_MS / 1000} s`, rows: qemuRows },
    ],
    targets,
  };
}

async function benchCreateOnEmpty(ctx: BenchContext, rows: ResultRow[], out: Map<string, Summary>): Promise<void> {
  const file = join(ctx.workDir, 'node-empty.xml');
  await writeFile(file, testNodeFileXml(0, 'deep'));
  const uri = `test://${file}`;
  for (const tool of ['virsh', 'snapvirt'] as const) {
    const [cmd, args] = toolArgs(ctx, tool, uri, `snapshot-create-as ${BIG_DOMAIN} first`);
    out.set(tool, await repeat(ctx.runs, () => timeCommand(cmd, args)));
  }
  rows.push(row('virsh snapshot-create-as (first)', out.get('virsh')!));
  rows.push(row('snapvirt snapshot-create-as (first)', out.get('snapvirt')!, { virsh: out.get('virsh') }));
}
