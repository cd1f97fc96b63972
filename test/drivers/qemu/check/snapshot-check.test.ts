/**
 * snapshot-check on shut-off QEMU domains with real qemu-img: a consistent domain reports
 * nothing; each kind of damage is reported in the right words; --repair fixes exactly the
 * provably safe findings and a second check reports only the rest; an interrupted
 * operation is reported and recovered by --repair; a crash inside a repair is recovered;
 * a read-only connection may check but not repair.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from '../../../../src/api/connection.js';
import type { Domain } from '../../../../src/api/domain.js';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { SnapshotCreateFlags as C, SnapshotDeleteFlags as D } from '../../../../src/api/flags.js';
import type { SnapshotCheckReport } from '../../../../src/drivers/snapshot-check-report.js';
import { domainXml, makeImages, type FixtureDisk } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { writePattern } from '../../../helpers/qemu-io.js';
import { runChildOp } from '../../../helpers/run-child-op.js';
import { openStore } from '../../../../src/store/index.js';
import { abandonEntry, openEntries } from '../../../../src/txn/index.js';

const run = promisify(execFile);
const SNAPVIRT = fileURLToPath(new URL('../../../../../bin/snapvirt', import.meta.url));

interface World {
  env: QemuTestEnv;
  dom: Domain;
  disks: FixtureDisk[];
  img(name: string): string;
}

/** A shut-off domain with 2 qcow2 disks, internal snapshot i1, then external e1 and e2. */
async function makeWorld(t: { after(fn: () => Promise<void>): void }): Promise<World> {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await dom.snapshotCreateXML('<domainsnapshot><name>i1</name></domainsnapshot>');
  await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  await dom.snapshotCreateXML('<domainsnapshot><name>e2</name></domainsnapshot>', C.DISK_ONLY);
  return { env, dom, disks, img: (name) => join(env.imageDir, name) };
}

/** (kind, subject, repairable) of each finding, sorted: what a test compares. */
function summary(report: SnapshotCheckReport): string[] {
  return report.findings.map((f) => `${f.kind} ${f.subject} ${f.repairable ? 'repairable' : 'kept'}`).sort();
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function tags(image: string): Promise<string[]> {
  const info = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', image])).stdout) as { snapshots?: { name: string }[] };
  return (info.snapshots ?? []).map((s) => s.name);
}

/** Runs the snapvirt CLI on the world's state dir, with optional failpoints. */
function cli(w: World, args: string[], failpoints = ''): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SNAPVIRT, '-c', 'qemu:///session', ...args], {
      env: { ...process.env, SNAPVIRT_STATE_DIR: w.env.stateDir, SNAPVIRT_FAILPOINTS: failpoints, SNAPVIRT_TESTING: '1' },
    }, (_err, stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stdout: String(stdout), stderr: String(stderr) }));
  });
}

test('a consistent domain (internal, external, reverted) reports nothing, and the CLI exits 0', async (t) => {
  const w = await makeWorld(t);
  await (await w.dom.snapshotLookupByName('e1')).revert();
  await w.dom.snapshotCreateXML('<domainsnapshot><name>e3</name></domainsnapshot>', C.DISK_ONLY);
  await writePattern(w.img('vm-0.e3'), 'qcow2', 0x31, 0, 65536);
  const report = await w.dom.checkSnapshots();
  assert.deepEqual(report.findings, []);
  assert.equal(report.consistent, true);
  const repaired = await w.dom.checkSnapshots({ repair: true });
  assert.deepEqual(repaired.findings, []);
  await w.env.conn.close();
  const out = await cli(w, ['snapshot-check', 'vm']);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, "Domain 'vm': snapshot metadata and disks are consistent\n\n");
});

test('each kind of damage is reported; --repair fixes exactly the safe ones; a second check reports the rest', async (t) => {
  const w = await makeWorld(t);
  const { dom, img } = w;
  // A stray branch: e3 on a revert overlay, then forgotten with --metadata. vda's overlay
  // holds data of its own (kept); vdb's and the revert overlay under it hold none (removed).
  await (await dom.snapshotLookupByName('e1')).revert();
  await dom.snapshotCreateXML('<domainsnapshot><name>e3</name></domainsnapshot>', C.DISK_ONLY);
  await (await dom.snapshotLookupByName('e1')).revert();
  await writePattern(img('vm-0.e3'), 'qcow2', 0x44, 0, 65536);
  await (await dom.snapshotLookupByName('e3')).delete(D.METADATA_ONLY);
  // Damage from outside.
  await run('rm', [img('vm-1.e1')]);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', img('other.qcow2'), '1M']);
  await run('qemu-img', ['rebase', '-u', '-f', 'qcow2', '-b', img('other.qcow2'), '-F', 'qcow2', img('vm-0.e2')]);
  await run('qemu-img', ['snapshot', '-d', 'i1', img('vm-1.qcow2')]);
  await run('qemu-img', ['snapshot', '-c', 'snapvirt-revert-00112233aabb', img('vm-0.qcow2')]);
  await run('qemu-img', ['snapshot', '-c', 'mine', img('vm-0.qcow2')]);
  await chmod(img('vm-0.e1'), 0o644);
  const uuid = dom.getUUIDString();
  // A temporary file an older build (state in qemu-offline/*.json) left when it died.
  await mkdir(join(w.env.stateDir, 'qemu-offline'), { recursive: true });
  const tempFile = join(w.env.stateDir, 'qemu-offline', `.${uuid}.json.tmp-999999-0badcafe`);
  await writeFile(tempFile, '{}');

  const report = await dom.checkSnapshots();
  assert.equal(report.consistent, false);
  assert.deepEqual(summary(report), [
    `backing-mismatch ${img('vm-0.e2')} kept`,
    `file-mode ${img('vm-0.e1')} kept`,
    `image-missing ${img('vm-1.e1')} kept`,
    `stray-file ${img('vm-0.e3')} kept`,
    `stray-file ${img('vm-1.e1-revert1')} repairable`,
    `stray-file ${img('vm-1.e3')} repairable`,
    `stray-file ${tempFile} repairable`,
    `tag-missing ${img('vm-1.qcow2')}:i1 kept`,
    `tag-unreferenced ${img('vm-0.qcow2')}:mine kept`,
    // Named like a temporary tag, but no journal entry took it: it may be the user's.
    `tag-unreferenced ${img('vm-0.qcow2')}:snapvirt-revert-00112233aabb kept`,
  ].sort());
  const says = (subject: string): string => report.findings.find((f) => f.subject === subject)!.message;
  assert.match(says(img('vm-1.e1')), /snapshot 'e1' disk vdb: overlay '.*vm-1\.e1' is missing/);
  assert.match(says(img('vm-0.e2')), /snapshot 'e2' disk vda: overlay '.*vm-0\.e2' is backed by '.*other\.qcow2', but the metadata expects '.*vm-0\.e1'/);
  assert.match(says(`${img('vm-1.qcow2')}:i1`), /image '.*vm-1\.qcow2' has no internal snapshot 'i1'; reverting to 'i1' will fail/);
  assert.match(says(`${img('vm-0.qcow2')}:snapvirt-revert-00112233aabb`), /no snapshot metadata names \(made with --no-metadata/);
  assert.match(says(img('vm-1.e3')), /was created by snapvirt for this domain, but no metadata names it and no image is built on it/);
  assert.match(says(img('vm-0.e1')), /has mode 0644, not 0600/);
  assert.match(report.findings.find((f) => f.subject === img('vm-0.e3'))!.reason!, /holds data of its own/);

  const repaired = await dom.checkSnapshots({ repair: true });
  const done = repaired.findings.filter((f) => f.repair?.done).map((f) => f.subject).sort();
  assert.deepEqual(done, [img('vm-1.e1-revert1'), img('vm-1.e3'), tempFile].sort());
  for (const f of repaired.findings.filter((x) => !x.repair?.done)) assert.ok(f.repair!.detail.length > 0, f.subject);
  assert.equal(repaired.consistent, false);
  for (const gone of [img('vm-1.e1-revert1'), img('vm-1.e3'), tempFile]) assert.equal(await exists(gone), false, gone);
  assert.equal(await exists(img('vm-0.e3')), true, 'data is never removed');
  assert.deepEqual(await tags(img('vm-0.qcow2')), ['i1', 'snapvirt-revert-00112233aabb', 'mine']);

  const again = await dom.checkSnapshots();
  assert.deepEqual(summary(again), summary(report).filter((s) => s.endsWith(' kept')));
  await w.env.conn.close();
  const out = await cli(w, ['snapshot-check', 'vm']);
  assert.equal(out.code, 1);
  assert.match(out.stdout, /^snapshot 'e1' disk vdb: overlay '.*vm-1\.e1' is missing/m);
  assert.match(out.stdout, /^Domain 'vm': 7 problems found, 0 of them safe to repair with --repair$/m);
  assert.equal(out.stderr, "error: domain 'vm' has 7 problems with its snapshots\n");
});

test('an interrupted operation is reported (not its files); --repair recovers it', async (t) => {
  const w = await makeWorld(t);
  const child = await runChildOp(w.env.stateDir, 'create.prepare.disk.after=crash@2',
    ['create', 'vm', '<domainsnapshot><name>e9</name></domainsnapshot>', String(C.DISK_ONLY)]);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  assert.equal(await exists(w.img('vm-1.e9')), true);
  const report = await w.dom.checkSnapshots();
  assert.deepEqual(report.findings.map((f) => f.kind), ['journal-open']);
  assert.match(report.findings[0]!.message, /the create of snapshot 'e9' .* was interrupted \(phase preparing\) and is not recovered/);
  const repaired = await w.dom.checkSnapshots({ repair: true });
  assert.deepEqual(repaired.findings.map((f) => [f.kind, f.repair]), [['journal-open', { done: true, detail: 'recovery rolled it back' }]]);
  assert.equal(repaired.consistent, true);
  assert.equal(await exists(w.img('vm-0.e9')), false);
  assert.equal(await exists(w.img('vm-1.e9')), false);
  assert.deepEqual((await w.dom.checkSnapshots()).findings, []);
});

test('overlays of an abandoned operation are stray files; --repair removes them (they hold nothing)', async (t) => {
  const w = await makeWorld(t);
  const child = await runChildOp(w.env.stateDir, 'create.commit.before=crash',
    ['create', 'vm', '<domainsnapshot><name>e9</name></domainsnapshot>', String(C.DISK_ONLY)]);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  // The user gave up on the interrupted create: recovery will never remove its overlays.
  const store = openStore(w.env.stateDir);
  const [entry] = openEntries(store);
  assert.equal(abandonEntry(store, entry!.id), true);
  store.close();
  const report = await w.dom.checkSnapshots();
  assert.deepEqual(summary(report), [`stray-file ${w.img('vm-0.e9')} repairable`, `stray-file ${w.img('vm-1.e9')} repairable`]);
  assert.match(report.findings[0]!.message, new RegExp(`was created by a create that was abandoned \\(journal entry ${entry!.id}\\), but no metadata names it`));
  const repaired = await w.dom.checkSnapshots({ repair: true });
  assert.equal(repaired.consistent, true);
  assert.equal(await exists(w.img('vm-0.e9')), false);
  assert.equal(await exists(w.img('vm-1.e9')), false);
  assert.deepEqual((await w.dom.checkSnapshots()).findings, []);
});

test('a crash in the middle of a repair is recovered: before the commit nothing is removed, after it everything', async (t) => {
  // A domain with one disk whose revert to i1 was killed after taking its temporary tag;
  // recovery rolled the revert back and removed the tag, then the tag came back (restored
  // from a backup, say): the journal entry says it is snapvirt's, so --repair removes it.
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const [disk] = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const w: World = { env, dom: await env.conn.domainDefineXML(domainXml('vm', [disk!])), disks: [disk!], img: (name) => join(env.imageDir, name) };
  await w.dom.snapshotCreateXML('<domainsnapshot><name>i1</name></domainsnapshot>');
  await w.env.conn.close();
  const crashed = await runChildOp(w.env.stateDir, 'revert.prepare.step.after=crash', ['revert', 'vm', 'i1', '0']);
  assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
  const tag = (await tags(w.img('vm-0.qcow2'))).find((n) => n !== 'i1')!;
  await (await w.env.reopen()).close();
  assert.deepEqual(await tags(w.img('vm-0.qcow2')), ['i1']);
  const stray = async (): Promise<void> => {
    await run('qemu-img', ['snapshot', '-c', tag, w.img('vm-0.qcow2')]);
  };
  await stray();
  // Killed before the commit point: rolled back, the tag is still there and still reported.
  const early = await cli(w, ['snapshot-check', 'vm', '--repair'], 'check-repair.commit.before=crash');
  assert.equal(early.signal, 'SIGKILL', early.stderr);
  let conn = await w.env.reopen();
  assert.deepEqual(await tags(w.img('vm-0.qcow2')), ['i1', tag]);
  let report = await (await conn.domainLookupByName('vm')).checkSnapshots();
  assert.deepEqual(summary(report), [`tag-unreferenced ${w.img('vm-0.qcow2')}:${tag} repairable`]);
  await conn.close();
  // Killed after the commit point, before the tag is deleted: recovery on open deletes it.
  const late = await cli(w, ['snapshot-check', 'vm', '--repair'], 'check-repair.finalize.before=crash');
  assert.equal(late.signal, 'SIGKILL', late.stderr);
  assert.deepEqual(await tags(w.img('vm-0.qcow2')), ['i1', tag], 'the kill came before the removal');
  conn = await w.env.reopen();
  assert.deepEqual(await tags(w.img('vm-0.qcow2')), ['i1']);
  report = await (await conn.domainLookupByName('vm')).checkSnapshots();
  assert.deepEqual(report.findings, []);
  // And the CLI's own report of a successful repair.
  await stray();
  await conn.close();
  const ok = await cli(w, ['snapshot-check', 'vm', '--repair']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /temporary tag of a revert \(journal entry [0-9]+, rolled back\), left behind; repaired: deleted the tag\n/);
  assert.match(ok.stdout, /Domain 'vm': 1 problem found, 1 repaired, 0 not repaired\n/);
});

test('a read-only connection may check but not repair', async (t) => {
  const w = await makeWorld(t);
  await run('qemu-img', ['snapshot', '-c', 'snapvirt-revert-000000000000', w.img('vm-0.qcow2')]);
  const saved = process.env.SNAPVIRT_STATE_DIR;
  process.env.SNAPVIRT_STATE_DIR = w.env.stateDir;
  const ro = await connect('qemu:///session', { readOnly: true }).finally(() => {
    if (saved === undefined) delete process.env.SNAPVIRT_STATE_DIR;
    else process.env.SNAPVIRT_STATE_DIR = saved;
  });
  t.after(() => ro.close());
  const dom = await ro.domainLookupByName('vm');
  assert.equal((await dom.checkSnapshots()).findings.length, 1);
  await assert.rejects(dom.checkSnapshots({ repair: true }), (e: unknown) =>
    e instanceof VirError && e.code === VirErrorCode.OPERATION_DENIED
    && e.message === 'operation forbidden: read only access prevents virDomainSnapshotCheck');
  assert.deepEqual(await tags(w.img('vm-0.qcow2')), ['i1', 'snapvirt-revert-000000000000']);
});
