/**
 * Many snapvirt processes at once on three domains that share one state directory (one
 * SQLite store, one lock directory): internal snapshots on two domains, external ones on
 * the third, readers listing all the while, one writer SIGKILLed halfway through its
 * operation, and one writer whose lock wait is too short to succeed.
 *
 * What must hold afterwards, whatever order the kernel ran the processes in:
 * - no lost update: every create, revert and delete that exited 0 is in the metadata and
 *   on the disks, and nothing else is;
 * - no deadlock: every process ends (the test's timeout bounds it);
 * - bounded waits: a writer that cannot get the lock in time fails with libvirt's timeout
 *   error naming the holder, and changes nothing;
 * - a dead holder's lock is taken over, and its half-done operation is rolled back by the
 *   next process to open the store;
 * - readers always see a consistent tree (every parent exists, at most one current).
 *
 * The order is the scheduler's, not the test's: assertions are on invariants, never on
 * which process went first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Connection } from '../../src/api/connection.js';
import type { QemuDriver } from '../../src/drivers/qemu/qemu-driver.js';
import { openEntries } from '../../src/txn/index.js';
import { openQemuTestEnv, type QemuTestEnv } from '../helpers/qemu-connection.js';
import { domainXml, makeImages, diskSourcesIn, type FixtureDisk } from '../helpers/domain-fixture.js';
import { chainOf } from '../helpers/disk-state.js';
import { hasPattern, writePattern } from '../helpers/qemu-io.js';

const BIN = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));
const K = 65536;
const INTERNAL = ['int-a', 'int-b'];
const EXTERNAL = 'ext-c';
const CREATES_PER_DOMAIN = 4;

interface CliResult { args: string[]; code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function snapvirt(env: QemuTestEnv, args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, '-c', 'qemu:///session', ...args], {
      env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir, SNAPVIRT_LOCK_TIMEOUT_MS: '120000', ...extraEnv },
    }, (_err, stdout, stderr) => resolve({ args, code: child.exitCode, signal: child.signalCode, stdout: String(stdout), stderr: String(stderr) }));
  });
}

function explain(results: CliResult[]): string {
  return results.map((r) => `${r.args.join(' ')} → ${r.code ?? r.signal}\n${r.stderr}`).join('\n');
}

/** The snapshot tree as (name → parent) with the current one, read through the library. */
async function treeOf(conn: Connection, domain: string): Promise<{ parents: Map<string, string | null>; current: string | null }> {
  const dom = await conn.domainLookupByName(domain);
  const parents = new Map<string, string | null>();
  for (const s of await dom.listAllSnapshots()) {
    // getParent fails with libvirt's "no parent" error on a root.
    parents.set(s.getName(), await s.getParent().then((p) => p.getName(), () => null));
  }
  const current = (await dom.hasCurrentSnapshot()) ? (await dom.snapshotCurrent()).getName() : null;
  return { parents, current };
}

/** Names from root to leaf when the tree is one chain; fails the test otherwise. */
function chainOrder(parents: Map<string, string | null>): string[] {
  const roots = [...parents].filter(([, p]) => p === null).map(([n]) => n);
  assert.equal(roots.length, 1, `one root expected: ${JSON.stringify([...parents])}`);
  const order = [roots[0]!];
  for (;;) {
    const children = [...parents].filter(([, p]) => p === order[order.length - 1]).map(([n]) => n);
    if (children.length === 0) return order;
    assert.equal(children.length, 1, `a chain expected: ${JSON.stringify([...parents])}`);
    order.push(children[0]!);
  }
}

/** A reader's `snapshot-list --parent` output is a consistent tree: every parent listed. */
function assertConsistentListing(r: CliResult): void {
  assert.equal(r.code, 0, explain([r]));
  const rows = r.stdout.split('\n').slice(2).map((l) => l.trim()).filter((l) => l.length > 0);
  const names = new Set(rows.map((l) => l.split(/\s+/)[0]!));
  for (const row of rows) {
    const parent = row.split(/\s+/).at(-1)!;
    // The last column is the parent's name, or empty (then the last column is the state).
    if (!['shutoff', 'disk-snapshot', 'running', 'paused'].includes(parent)) assert.ok(names.has(parent), `${parent} missing in\n${r.stdout}`);
  }
}

/** Each internal domain's disks carry exactly the tags its metadata names. */
async function assertTagsMatch(conn: Connection, domain: string, disks: FixtureDisk[]): Promise<void> {
  const { parents } = await treeOf(conn, domain);
  for (const d of disks) {
    const tags = ((await chainOf(d.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots;
    assert.deepEqual([...tags].sort(), [...parents.keys()].sort(), `${domain} ${d.path}`);
  }
}

async function openJournalCount(conn: Connection): Promise<number> {
  return openEntries((conn.driver as QemuDriver).store).length;
}

test('many processes on three domains sharing a store: no lost update, no deadlock, bounded waits, a killed holder rolled back', { timeout: 600_000 }, async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks: Record<string, FixtureDisk[]> = {};
  for (const name of [...INTERNAL, EXTERNAL]) {
    disks[name] = await makeImages(env.imageDir, name, ['qcow2', 'qcow2']);
    await env.conn.domainDefineXML(domainXml(name, disks[name]!));
    for (const d of disks[name]!) await writePattern(d.path, 'qcow2', 0xa, 0, K);
  }
  await env.conn.close();

  // Phase 1: four creators per domain, a reader per domain, and on int-a a writer killed
  // (SIGKILL, no cleanup) once every disk got its tag, before the commit.
  const creates = [...INTERNAL, EXTERNAL].flatMap((dom) => Array.from({ length: CREATES_PER_DOMAIN }, (_, i) =>
    snapvirt(env, ['snapshot-create-as', dom, `s${i}`, ...(dom === EXTERNAL ? ['--disk-only', '--atomic'] : [])])));
  const readers = [...INTERNAL, EXTERNAL].map((dom) => snapvirt(env, ['snapshot-list', dom, '--parent']));
  const killed = snapvirt(env, ['snapshot-create-as', 'int-a', 'doomed'], { SNAPVIRT_FAILPOINTS: 'create.prepare.step.after=crash', SNAPVIRT_TESTING: '1' });
  const phase1 = await Promise.all(creates);
  for (const r of phase1) assert.equal(r.code, 0, explain(phase1));
  for (const r of await Promise.all(readers)) assertConsistentListing(r);
  assert.equal((await killed).signal, 'SIGKILL', explain([await killed]));

  let conn = await env.reopen();
  assert.equal(await openJournalCount(conn), 0, 'recovery closed every entry');
  const orders: Record<string, string[]> = {};
  for (const dom of [...INTERNAL, EXTERNAL]) {
    const { parents, current } = await treeOf(conn, dom);
    assert.deepEqual([...parents.keys()].sort(), ['s0', 's1', 's2', 's3'], `${dom}: every create landed, the killed one did not`);
    orders[dom] = chainOrder(parents);
    assert.equal(current, orders[dom]!.at(-1), `${dom}: each create made the snapshot before it the parent`);
  }
  for (const dom of INTERNAL) await assertTagsMatch(conn, dom, disks[dom]!);
  // The external domain's disks now run on the fourth overlay, chained through all four.
  const extSources = diskSourcesIn(await (await conn.domainLookupByName(EXTERNAL)).getXMLDesc());
  for (const [i, src] of extSources.entries()) {
    const files = (await chainOf(src, 'qcow2')).map((c) => (c as { filename: string }).filename);
    // Each snapshot's overlay is named after it and became the active image.
    const overlays = [...orders[EXTERNAL]!].reverse().map((n) => `${env.imageDir}/${EXTERNAL}-${i}.${n}`);
    assert.deepEqual(files, [...overlays, disks[EXTERNAL]![i]!.path]);
    assert.equal(src, overlays[0]);
    assert.equal(await hasPattern(src, 'qcow2', 0xa, 0, K), true);
  }
  await conn.close();

  // Phase 2, all at once: on each domain revert to the root, delete the second snapshot,
  // create one more; a writer with a 1 ms lock wait; readers.
  const phase2: Array<Promise<CliResult>> = [];
  for (const dom of [...INTERNAL, EXTERNAL]) {
    const [root, second] = orders[dom]!;
    phase2.push(snapvirt(env, ['snapshot-revert', dom, root!]));
    phase2.push(snapvirt(env, ['snapshot-delete', dom, second!]));
    phase2.push(snapvirt(env, ['snapshot-create-as', dom, 'late', ...(dom === EXTERNAL ? ['--disk-only'] : [])]));
  }
  const hurried = snapvirt(env, ['snapshot-create-as', 'int-b', 'hurried'], { SNAPVIRT_LOCK_TIMEOUT_MS: '1' });
  const readers2 = [...INTERNAL, EXTERNAL].map((dom) => snapvirt(env, ['snapshot-list', dom, '--parent']));
  const results2 = await Promise.all(phase2);
  for (const r of results2) assert.equal(r.code, 0, explain(results2));
  for (const r of await Promise.all(readers2)) assertConsistentListing(r);
  const h = await hurried;
  t.diagnostic(`1 ms lock wait: ${h.code === 0 ? "got the lock" : "timed out"}`);
  if (h.code !== 0) {
    assert.equal(h.code, 1, explain([h]));
    assert.match(h.stderr, /^error: Timed out during operation: cannot acquire state change lock \(held by snapshot-\w+, pid \d+\)/m);
  }

  conn = await env.reopen();
  assert.equal(await openJournalCount(conn), 0);
  for (const dom of [...INTERNAL, EXTERNAL]) {
    const [root, second, third, fourth] = orders[dom]!;
    const { parents, current } = await treeOf(conn, dom);
    const expected: string[] = [root!, third!, fourth!, 'late', ...(dom === 'int-b' && h.code === 0 ? ['hurried'] : [])];
    assert.deepEqual([...parents.keys()].sort(), expected.sort(), dom);
    for (const [name, parent] of parents) assert.ok(parent === null || parents.has(parent), `${dom}: ${name}'s parent ${parent} exists`);
    assert.equal(parents.get(third!), root, `${dom}: deleting ${second} reparented ${third}`);
    // The current snapshot is the root (the revert ran last) or one created after it.
    assert.ok(current === root || current === 'late' || current === 'hurried', `${dom}: current ${current}`);
    if (INTERNAL.includes(dom)) await assertTagsMatch(conn, dom, disks[dom]!);
  }
  // The external domain's disks still hold the data written before the first snapshot,
  // and every overlay in the image directory is still reachable from some snapshot or disk.
  for (const src of diskSourcesIn(await (await conn.domainLookupByName(EXTERNAL)).getXMLDesc())) {
    assert.equal(await hasPattern(src, 'qcow2', 0xa, 0, K), true);
  }
  assert.deepEqual((await readdir(env.imageDir)).filter((f) => f.includes('doomed') || f.includes('hurried')), []);
});
