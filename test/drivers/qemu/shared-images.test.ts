/**
 * Two domains in one state directory that share images: a clone defined from `dumpxml vm1`
 * with only its name and UUID changed sits on vm1's revert overlay; vm2's external
 * snapshot sits on that overlay; vm2's snapshot alone still needs it; vm2 runs on it.
 * Reverting vm1 again, deleting vm1's snapshot of an abandoned branch, or repairing vm1
 * must never remove a file another domain's definition or snapshot reaches: it is kept
 * and reported, vm2's chain stays whole with its data, and files nobody reaches still go.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Domain } from '../../../src/api/domain.js';
import { SnapshotCreateFlags as C } from '../../../src/api/flags.js';
import { domainXml, makeImages, diskSourcesIn } from '../../helpers/domain-fixture.js';
import { namesIn } from '../../helpers/disk-state.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../helpers/qemu-connection.js';
import { hasPattern, writePattern } from '../../helpers/qemu-io.js';
import { guestWriteVia, makeRunningEnv } from './support/active-env.js';

const run = promisify(execFile);
const K = 65536;
const UUID2 = '0b0b0b0b-1111-4222-8333-444444444444';

/** `dumpxml vm1` with the name and UUID changed, defined as vm2. */
async function cloneOf(env: QemuTestEnv, vm1: Domain): Promise<Domain> {
  const xml = (await vm1.getXMLDesc()).replace(/<name>[^<]*<\/name>/, '<name>vm2</name>').replace(/<uuid>[^<]*<\/uuid>/, `<uuid>${UUID2}</uuid>`);
  return env.conn.domainDefineXML(xml);
}

/** The files of `path`'s chain as qemu-img reads it (format given, nothing probed); throws when a link is missing. */
async function chainFiles(path: string): Promise<string[]> {
  const { stdout } = await run('qemu-img', ['info', '-U', '-f', 'qcow2', '--backing-chain', '--output=json', path]);
  return (JSON.parse(stdout) as Array<{ filename: string }>).map((l) => l.filename);
}

/** Collects the warnings a connection prints (snapvirt reports kept files as warnings on stderr). */
function captureWarnings(t: { after(fn: () => void): void }): string[] {
  const seen: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    seen.push(String(chunk));
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  t.after(() => { process.stderr.write = write; });
  return seen;
}

/** vm1 on base vm-0.qcow2 (data A) with external e1, reverted once: vm1 runs on its revert overlay r1 (on the base). */
async function world(t: { after(fn: () => Promise<void>): void }) {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const [disk] = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const vm1 = await env.conn.domainDefineXML(domainXml('vm1', [disk!]));
  await writePattern(disk!.path, 'qcow2', 0xa, 0, K);
  await vm1.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  const e1 = await vm1.snapshotLookupByName('e1');
  await e1.revert();
  const [r1] = diskSourcesIn(await vm1.getXMLDesc());
  return { env, vm1, e1, r1: r1!, base: disk!.path };
}

test('revert: a clone on vm1\'s revert overlay keeps it (warned); vm1\'s own next overlay is still discarded', async (t) => {
  const warnings = captureWarnings(t);
  const { env, vm1, e1, r1 } = await world(t);
  const vm2 = await cloneOf(env, vm1);
  assert.deepEqual(diskSourcesIn(await vm2.getXMLDesc()), [r1]);
  await writePattern(r1, 'qcow2', 0xb, K, K); // vm2's own data
  await e1.revert();
  const [r2] = diskSourcesIn(await vm1.getXMLDesc());
  assert.notEqual(r2, r1);
  assert.deepEqual(await chainFiles(r1), [r1, `${env.imageDir}/vm-0.qcow2`]);
  assert.equal(await hasPattern(r1, 'qcow2', 0xb, K, K), true);
  assert.equal(await hasPattern(r1, 'qcow2', 0xa, 0, K), true);
  assert.match(warnings.join(''), new RegExp(`kept '${r1}' as it is: domain 'vm2' uses it`));
  // Nobody else reaches r2: the next revert discards it as before.
  await e1.revert();
  const names = await namesIn(env.imageDir);
  assert.equal(names.includes(r2!.slice(env.imageDir.length + 1)), false, names.join(' '));
  assert.equal(names.includes(r1.slice(env.imageDir.length + 1)), true);
  // snapshot-check shows the sharing on vm1; --repair keeps the file.
  const report = await vm1.checkSnapshots({ repair: true });
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.subject} ${f.repairable}`), [`shared-image ${r1} false`]);
  assert.match(report.findings[0]!.message, /domain 'vm2'/);
  assert.deepEqual(await chainFiles(r1), [r1, `${env.imageDir}/vm-0.qcow2`]);
  // Once vm2 is gone, the file is nobody's: --repair may remove it (it holds vm2's data, so it reports it).
  await vm2.undefine();
  const after = await vm1.checkSnapshots();
  assert.deepEqual(after.findings.map((f) => `${f.kind} ${f.subject}`), [`stray-file ${r1}`]);
});

test('revert: vm2\'s external snapshot on vm1\'s revert overlay, and vm2\'s snapshot alone, keep it', async (t) => {
  const { env, vm1, e1, r1 } = await world(t);
  const vm2 = await cloneOf(env, vm1);
  await vm2.snapshotCreateXML('<domainsnapshot><name>v2</name></domainsnapshot>', C.DISK_ONLY);
  const [o2] = diskSourcesIn(await vm2.getXMLDesc());
  await writePattern(o2!, 'qcow2', 0xc, 2 * K, K);
  await e1.revert();
  assert.deepEqual(await chainFiles(o2!), [o2, r1, `${env.imageDir}/vm-0.qcow2`]);
  assert.equal(await hasPattern(o2!, 'qcow2', 0xa, 0, K), true);
  // vm2 moves to a disk of its own: only its snapshot v2 still reaches r1 (v2 froze r1).
  const [own] = await makeImages(env.imageDir, 'other', ['qcow2']);
  await env.conn.domainDefineXML((await vm2.getXMLDesc()).replace(`<source file='${o2}'/>`, `<source file='${own!.path}'/>`));
  await e1.revert();
  assert.deepEqual(await chainFiles(r1), [r1, `${env.imageDir}/vm-0.qcow2`]);
  await (await vm2.snapshotLookupByName('v2')).revert();
  assert.equal(await hasPattern(diskSourcesIn(await vm2.getXMLDesc())[0]!, 'qcow2', 0xa, 0, K), true);
});

test('delete: the overlay of vm1\'s abandoned branch stays while vm2 is defined on it', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const [disk] = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const vm1 = await env.conn.domainDefineXML(domainXml('vm1', [disk!]));
  await vm1.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  await vm1.snapshotCreateXML('<domainsnapshot><name>e2</name></domainsnapshot>', C.DISK_ONLY);
  const [e2Overlay] = diskSourcesIn(await vm1.getXMLDesc());
  const vm2 = await cloneOf(env, vm1); // vm2 runs on the state after e2
  await writePattern(e2Overlay!, 'qcow2', 0xd, 0, K);
  await (await vm1.snapshotLookupByName('e1')).revert();
  await (await vm1.snapshotLookupByName('e2')).delete();
  assert.deepEqual(await chainFiles(e2Overlay!), [e2Overlay, `${env.imageDir}/vm-0.e1`, `${env.imageDir}/vm-0.qcow2`]);
  assert.equal(await hasPattern(e2Overlay!, 'qcow2', 0xd, 0, K), true);
  assert.deepEqual(diskSourcesIn(await vm2.getXMLDesc()), [e2Overlay]);
});

test('revert: a running vm2 on vm1\'s revert overlay keeps it, and its QEMU still reads through it', async (t) => {
  const { env, vm1, e1, r1 } = await world(t);
  const vm2 = await cloneOf(env, vm1);
  await vm2.create();
  t.after(async () => { await vm2.destroy().catch(() => undefined); });
  await e1.revert();
  assert.deepEqual(await chainFiles(r1), [r1, `${env.imageDir}/vm-0.qcow2`]);
  await vm2.destroy();
  assert.equal(await hasPattern(r1, 'qcow2', 0xa, 0, K), true);
});

test('delete: vm1\'s snapshot is not merged into a base vm2 is defined on (vm2\'s disk would change under it)', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const [disk] = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const vm1 = await env.conn.domainDefineXML(domainXml('vm1', [disk!]));
  await writePattern(disk!.path, 'qcow2', 0xa, 0, K);
  const vm2 = await cloneOf(env, vm1); // a rescue domain on vm1's own disk
  await vm1.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  const [overlay] = diskSourcesIn(await vm1.getXMLDesc());
  await writePattern(overlay!, 'qcow2', 0xe, 0, K);
  await (await vm1.snapshotLookupByName('e1')).delete();
  // The base still reads what vm2 saw; vm1 still reads its own data through its overlay.
  assert.equal(await hasPattern(disk!.path, 'qcow2', 0xa, 0, K), true);
  assert.deepEqual(diskSourcesIn(await vm2.getXMLDesc()), [disk!.path]);
  assert.deepEqual(await chainFiles(overlay!), [overlay, disk!.path]);
  assert.equal(await hasPattern(overlay!, 'qcow2', 0xe, 0, K), true);
  // Without vm2, the same delete merges as before.
  await vm2.undefine();
  await vm1.snapshotCreateXML('<domainsnapshot><name>e2</name></domainsnapshot>', C.DISK_ONLY);
  const [o2] = diskSourcesIn(await vm1.getXMLDesc());
  await writePattern(o2!, 'qcow2', 0xf, K, K);
  await (await vm1.snapshotLookupByName('e2')).delete();
  assert.deepEqual(diskSourcesIn(await vm1.getXMLDesc()), [overlay]);
  assert.equal((await namesIn(env.imageDir)).includes(o2!.slice(env.imageDir.length + 1)), false);
  assert.equal(await hasPattern(overlay!, 'qcow2', 0xf, K, K), true);
});

test('live delete: a running vm1 does not block-commit its snapshot into a base vm2 is defined on', async (t) => {
  const r = await makeRunningEnv(1, 'vm1');
  t.after(() => r.cleanup());
  const base = r.disks[0]!.path;
  await writePattern(base, 'qcow2', 0xa, 0, K);
  const vm2 = await cloneOf(r.env, r.dom);
  await r.dom.create();
  await r.dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  await guestWriteVia(r.dom, 'vda', 0xe, 0, String(K));
  await (await r.dom.snapshotLookupByName('e1')).delete();
  const [overlay] = diskSourcesIn(await r.dom.getXMLDesc());
  await r.dom.destroy();
  assert.equal(await hasPattern(base, 'qcow2', 0xa, 0, K), true, 'vm2\'s disk is unchanged');
  assert.deepEqual(diskSourcesIn(await vm2.getXMLDesc()), [base]);
  assert.deepEqual(await chainFiles(overlay!), [overlay, base]);
  assert.equal(await hasPattern(overlay!, 'qcow2', 0xe, 0, K), true);
});
