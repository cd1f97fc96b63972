/**
 * `snapshot-check --repair` and internal tags named like snapvirt's temporary ones
 * (`snapvirt-undo-…`, `snapvirt-revert-…`): a tag is snapvirt's temporary tag only when a
 * journal entry recorded creating it on that image, never because of its name. A user's
 * tag (made with --no-metadata, or kept by snapshot-delete --metadata) survives every
 * repair with its data; a tag an interrupted revert left is still removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SnapshotCreateFlags as C, SnapshotDeleteFlags as D } from '../../../../src/api/flags.js';
import { openStore } from '../../../../src/store/index.js';
import { abandonEntry, openEntries } from '../../../../src/txn/index.js';
import { domainXml, makeImages } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { tagHasPattern, writePattern, hasPattern } from '../../../helpers/qemu-io.js';
import { runChildOp } from '../../../helpers/run-child-op.js';

const run = promisify(execFile);
const K = 65536;

async function tags(image: string): Promise<string[]> {
  const info = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', image])).stdout) as { snapshots?: { name: string }[] };
  return (info.snapshots ?? []).map((s) => s.name).sort();
}

test('a user\'s tags named like temporary ones (--no-metadata, or metadata deleted) survive --repair with their data', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const [disk] = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', [disk!]));
  await writePattern(disk!.path, 'qcow2', 0x5a, 0, K);
  const names = ['snapvirt-undo-abc', 'snapvirt-undo-0123456789ab', 'snapvirt-revert-aaaabbbbcccc'];
  await dom.snapshotCreateXML(`<domainsnapshot><name>${names[0]}</name></domainsnapshot>`, C.NO_METADATA);
  await dom.snapshotCreateXML(`<domainsnapshot><name>${names[1]}</name></domainsnapshot>`, C.NO_METADATA);
  await dom.snapshotCreateXML(`<domainsnapshot><name>${names[2]}</name></domainsnapshot>`);
  await (await dom.snapshotLookupByName(names[2]!)).delete(D.METADATA_ONLY);
  await writePattern(disk!.path, 'qcow2', 0x11, 0, K);

  const report = await dom.checkSnapshots();
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.subject} ${f.repairable}`).sort(),
    names.map((n) => `tag-unreferenced ${disk!.path}:${n} false`).sort());
  const repaired = await dom.checkSnapshots({ repair: true });
  assert.deepEqual(repaired.findings.filter((f) => f.repair?.done), []);
  assert.deepEqual(await tags(disk!.path), [...names].sort());
  for (const n of names) assert.equal(await tagHasPattern(disk!.path, n, 0x5a, 0, K), true, n);
  assert.equal(await hasPattern(disk!.path, 'qcow2', 0x11, 0, K), true);
});

/** A domain with internal snapshot i1 and a revert to it killed after its temporary tag was taken. */
async function interruptedRevert(t: { after(fn: () => Promise<void>): void }) {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const [disk] = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', [disk!]));
  await writePattern(disk!.path, 'qcow2', 0x5a, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>i1</name></domainsnapshot>');
  await writePattern(disk!.path, 'qcow2', 0x11, 0, K);
  await env.conn.close();
  const child = await runChildOp(env.stateDir, 'revert.prepare.step.after=crash', ['revert', 'vm', 'i1', '0']);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const left = (await tags(disk!.path)).filter((n) => n !== 'i1');
  assert.equal(left.length, 1, 'the crash left the revert\'s temporary tag');
  return { env, disk: disk!, tag: left[0]! };
}

test('the temporary tag of a crashed revert is still removed by --repair (recovery rolls the revert back)', async (t) => {
  const { env, disk, tag } = await interruptedRevert(t);
  const store = openStore(env.stateDir);
  const open = openEntries(store).length;
  store.close();
  assert.equal(open, 1);
  const conn = await env.reopen();
  // reopen() ran recovery: the tag went with the rollback, and the disk reads as before the revert.
  assert.deepEqual(await tags(disk.path), ['i1']);
  assert.equal(await hasPattern(disk.path, 'qcow2', 0x11, 0, K), true);
  // Found again (restored from a backup, say): the journal says whose it is, so --repair removes it.
  await run('qemu-img', ['snapshot', '-c', tag, disk.path]);
  const dom = await conn.domainLookupByName('vm');
  const report = await dom.checkSnapshots();
  assert.deepEqual(report.findings.map((f) => `${f.kind} ${f.subject} ${f.repairable}`), [`tag-unreferenced ${disk.path}:${tag} true`]);
  assert.match(report.findings[0]!.message, /temporary tag of a revert \(journal entry [0-9]+, rolled back\)/);
  const repaired = await dom.checkSnapshots({ repair: true });
  assert.deepEqual(repaired.findings.map((f) => f.repair?.done), [true]);
  assert.deepEqual(await tags(disk.path), ['i1']);
});

test('the temporary tag of an abandoned revert holds the state before it: reported, never removed', async (t) => {
  const { env, disk, tag } = await interruptedRevert(t);
  const store = openStore(env.stateDir);
  const [entry] = openEntries(store);
  assert.equal(abandonEntry(store, entry!.id), true);
  store.close();
  const dom = await (await env.reopen()).domainLookupByName('vm');
  const repaired = await dom.checkSnapshots({ repair: true });
  assert.deepEqual(repaired.findings.map((f) => `${f.kind} ${f.subject} ${f.repairable}`), [`tag-unreferenced ${disk.path}:${tag} false`]);
  assert.match(repaired.findings[0]!.reason!, new RegExp(`abandoned \\(journal entry ${entry!.id}\\)`));
  assert.deepEqual(await tags(disk.path), ['i1', tag].sort());
  assert.equal(await tagHasPattern(disk.path, tag, 0x11, 0, K), true, 'the state before the revert is still there');
});

