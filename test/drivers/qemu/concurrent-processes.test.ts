/**
 * Two snapvirt processes snapshotting the same domain at once (same state directory):
 * the domain lock makes one wait for the other (or, with a short lock timeout, fail
 * cleanly naming the holder); no snapshot is lost, and the disks and the metadata agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireDomainLock } from '../../../src/txn/index.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../helpers/qemu-connection.js';
import { domainXml, makeImages, diskSourcesIn } from '../../helpers/domain-fixture.js';
import { chainOf } from '../../helpers/disk-state.js';
import { hasPattern, writePattern } from '../../helpers/qemu-io.js';

const BIN = fileURLToPath(new URL('../../../../bin/snapvirt', import.meta.url));
const K = 65536;
const UUID = '0b0c0d0e-1111-4222-8333-444455556666';

interface CliResult { code: number; stdout: string; stderr: string }

function snapvirt(env: QemuTestEnv, args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, '-c', 'qemu:///session', ...args], {
      env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir, ...extraEnv },
    }, (_err, stdout, stderr) => resolve({ code: child.exitCode ?? -1, stdout: String(stdout), stderr: String(stderr) }));
  });
}

test('two processes create external snapshots at once: both succeed in turn, chains and metadata agree', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xa, 0, K);
  await env.conn.close();
  const results = await Promise.all(['p1', 'p2'].map((n) => snapvirt(env, ['snapshot-create-as', 'vm', n, '--disk-only', '--atomic'])));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const conn = await env.reopen();
  const dom = await conn.domainLookupByName('vm');
  const names = (await dom.listAllSnapshots()).map((s) => s.getName()).sort();
  assert.deepEqual(names, ['p1', 'p2']);
  // The later one is the current snapshot and the child of the earlier one.
  const current = (await dom.snapshotCurrent()).getName();
  const first = current === 'p1' ? 'p2' : 'p1';
  assert.equal((await (await dom.snapshotLookupByName(current)).getParent()).getName(), first);
  for (const [i, src] of diskSourcesIn(await dom.getXMLDesc()).entries()) {
    const chain = (await chainOf(src, 'qcow2')).map((c) => (c as { filename: string }).filename);
    assert.deepEqual(chain, [src, `${env.imageDir}/vm-${i}.${first}`, disks[i]!.path]);
    assert.equal(await hasPattern(src, 'qcow2', 0xa, 0, K), true);
  }
});

test('two processes, same snapshot name, internal: one succeeds, the other fails cleanly; a writer kept waiting by a held lock fails naming the holder', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  await env.conn.domainDefineXML(domainXml('vm', disks, UUID));
  await env.conn.close();
  const results = await Promise.all([0, 1].map(() => snapvirt(env, ['snapshot-create-as', 'vm', 'same'])));
  assert.deepEqual(results.map((r) => r.code).sort(), [0, 1], results.map((r) => r.stderr).join('\n'));
  const failed = results.find((r) => r.code === 1)!;
  assert.match(failed.stderr, /^error: operation failed: domain moment same already exists$/m);
  for (const d of disks) {
    assert.deepEqual(((await chainOf(d.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots, ['same']);
  }

  // While another process holds the domain's lock (this one, as snapshot-revert), a second
  // writer waits its bounded time, then fails naming the holder and changing nothing.
  const lock = await acquireDomainLock(join(env.stateDir, 'locks'), UUID, 'snapshot-revert');
  let blocked: CliResult;
  try {
    blocked = await snapvirt(env, ['snapshot-create-as', 'vm', 'blocked'], { SNAPVIRT_LOCK_TIMEOUT_MS: '300' });
  } finally {
    lock.release();
  }
  assert.equal(blocked.code, 1);
  assert.match(blocked.stderr, new RegExp(`^error: Timed out during operation: cannot acquire state change lock \\(held by snapshot-revert, pid ${process.pid}\\)`, 'm'));
  const after = await snapvirt(env, ['snapshot-create-as', 'vm', 'later']);
  assert.equal(after.code, 0, after.stderr);
  const conn = await env.reopen();
  const names = (await (await conn.domainLookupByName('vm')).listAllSnapshots()).map((s) => s.getName()).sort();
  assert.deepEqual(names, ['later', 'same']);
  for (const d of disks) {
    assert.deepEqual(((await chainOf(d.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots.sort(), names);
  }
});

test('CLI processes: --print-xml creates nothing; domstate --reason is "from snapshot" in a later process after revert', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'raw']);
  await env.conn.domainDefineXML(domainXml('vm', disks));
  await env.conn.close();
  const printed = await snapvirt(env, ['snapshot-create-as', 'vm', 'p', '--disk-only', '--print-xml']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /<domainsnapshot>\s*<name>p<\/name>\s*<\/domainsnapshot>/);
  assert.deepEqual((await snapvirt(env, ['snapshot-list', 'vm', '--name'])).stdout.trim(), '');
  const raw = await snapvirt(env, ['snapshot-create-as', 'vm', 'i']);
  assert.equal(raw.code, 1);
  assert.match(raw.stderr, /^error: unsupported configuration: internal snapshot for disk vdb unsupported for storage type raw$/m);
  assert.equal((await snapvirt(env, ['snapshot-create-as', 'vm', 'e', '--disk-only', '--halt'])).code, 0);
  assert.equal((await snapvirt(env, ['domstate', 'vm', '--reason'])).stdout.trim(), 'shut off (unknown)');
  assert.equal((await snapvirt(env, ['snapshot-revert', 'vm', 'e'])).code, 0);
  assert.equal((await snapvirt(env, ['domstate', 'vm', '--reason'])).stdout.trim(), 'shut off (from snapshot)');
});
