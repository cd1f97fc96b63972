/**
 * A backing chain that loops (A backed by B backed by A, or A by itself) cannot be opened
 * by QEMU. snapvirt writes overlay headers natively, without opening the chain, so it
 * must look for the loop itself: an external (or internal) snapshot on such a chain is
 * refused up front with libvirt's error, nothing created; `define` refuses a definition
 * whose declared chain loops, nothing defined (issue 12, items 5 and 9).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VirError, VirErrorCode, VirErrorDomain } from '../../../../src/api/errors.js';
import { SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { domainXml } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';

const run = promisify(execFile);

/** qcow2 images `names` in `dir`, each backed (qcow2) by the next, the last by the first: a loop. */
async function loopingImages(dir: string, names: string[]): Promise<string[]> {
  const paths = names.map((n) => join(dir, n));
  for (const path of paths) await run('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1M']);
  for (const [i, path] of paths.entries()) {
    // rebase -u rewrites only the header: the backing is named, not opened (qemu-img create
    // refuses an image backed by itself).
    await run('qemu-img', ['rebase', '-q', '-u', '-f', 'qcow2', '-b', paths[(i + 1) % paths.length]!, '-F', 'qcow2', path]);
  }
  return paths;
}

/** libvirt's error for a looping chain (virStorageSourceGetMetadataRecurse), the image met again being `again`. */
function selfReferential(again: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof VirError, String(err));
    assert.equal(err.code, VirErrorCode.INTERNAL_ERROR);
    assert.equal(err.domain, VirErrorDomain.STORAGE);
    assert.equal(err.message, `internal error: backing store for ${again} (${again}) is self-referential`);
    return true;
  };
}

async function withEnv(t: { after(fn: () => Promise<void>): void }): Promise<QemuTestEnv> {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  return env;
}

for (const names of [['a.qcow2', 'b.qcow2'], ['self.qcow2']]) {
  test(`define refuses a disk whose chain loops (${names.join(' → ')} → ${names[0]}), and defines nothing`, async (t) => {
    const env = await withEnv(t);
    const [top] = await loopingImages(env.imageDir, names);
    const xml = domainXml('loop', [{ target: 'vda', path: top!, format: 'qcow2' }]);
    await assert.rejects(env.conn.domainDefineXML(xml), selfReferential(top!));
    assert.deepEqual(await env.conn.listAllDomains(), []);
  });
}

test('a snapshot (external or internal) of a shut-off domain whose chain came to loop is refused up front; nothing changes', async (t) => {
  const env = await withEnv(t);
  const a = join(env.imageDir, 'a.qcow2');
  const b = join(env.imageDir, 'b.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', b, '1M']);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', b, '-F', 'qcow2', a]);
  const dom = await env.conn.domainDefineXML(domainXml('vm', [{ target: 'vda', path: a, format: 'qcow2' }]));
  // After define, someone points b back at a (rebase -u writes only the header).
  await run('qemu-img', ['rebase', '-q', '-u', '-f', 'qcow2', '-b', a, '-F', 'qcow2', b]);
  const files = (await readdir(env.imageDir)).sort();
  const xml = await dom.getXMLDesc();
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY), selfReferential(a));
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY | C.ATOMIC), selfReferential(a));
  await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>i1</name></domainsnapshot>'), selfReferential(a));
  assert.deepEqual((await readdir(env.imageDir)).sort(), files, 'no overlay left behind');
  assert.equal(await dom.getXMLDesc(), xml);
  assert.deepEqual(await dom.snapshotListNames(), []);
});
