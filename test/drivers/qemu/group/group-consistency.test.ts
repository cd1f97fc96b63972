/**
 * Consistency you can check (issue item 4): two running members whose disks receive a
 * strictly ordered stream of writes, A1 B1 A2 B2 … (each awaited before the next, each at
 * its own 4 KiB block with a pattern of its sequence number), sent through the monitor
 * (HMP qemu-io) while the group snapshot is taken. The group's images never hold B's
 * write n without A's write n; two separate snapshots with one write pair between them do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import type { Domain } from '../../../../src/api/domain.js';
import { makeImages, domainXml } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { guestWriteVia, killAllQemu } from '../support/active-env.js';

const run = promisify(execFile);
const BLOCK = 4096;
const pattern = (n: number): number => (n % 255) + 1;

/** Write n of one disk: its block n carries pattern(n). */
const write = (dom: Domain, n: number): Promise<void> => guestWriteVia(dom, 'vda', pattern(n), n * BLOCK, '4k');

/** Which writes 1..count image `path` (with its backing chain) holds. */
async function writesIn(path: string, count: number, scratch: string): Promise<boolean[]> {
  const out = join(scratch, `dump-${Math.random().toString(36).slice(2)}.raw`);
  await run('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', path, out]);
  const data = await readFile(out);
  return Array.from({ length: count + 1 }, (_, n) => n > 0 && data[n * BLOCK] === pattern(n));
}

test('an ordered stream of writes A1 B1 A2 B2 … through the monitor: the group never holds B\'s write n without A\'s; separate snapshots do', async () => {
  const env = await openQemuTestEnv();
  try {
    // A switches first (canonical order is by UUID): the order in which a torn cut could
    // hold B's write n without A's (A switched, then A_n and B_n, then B switched).
    const uuids = { a: '00000000-0000-4000-8000-000000000001', b: 'ffffffff-ffff-4fff-bfff-fffffffffff1' };
    const [a, b] = await Promise.all((['a', 'b'] as const).map(async (name) => {
      const [disk] = await makeImages(env.imageDir, name, ['qcow2'], 16 << 20);
      const dom = await env.conn.domainDefineXML(domainXml(name, [disk!], uuids[name]));
      await dom.create();
      return { dom, base: disk!.path };
    }));
    let n = 0;
    let stop = false;
    let resolveStarted!: () => void;
    const started = new Promise<void>((r) => { resolveStarted = r; });
    const writer = (async () => {
      while (!stop && n < 3000) {
        n++;
        await write(a!.dom, n);
        await write(b!.dom, n);
        if (n === 5) resolveStarted();
      }
    })();
    await started;
    await env.conn.groupSnapshotCreateXML([a!.dom, b!.dom], '<groupsnapshot><name>g</name></groupsnapshot>', C.DISK_ONLY);
    const atGroup = n;
    while (n < atGroup + 5) await new Promise((r) => setImmediate(r));
    stop = true;
    await writer;
    const total = n;
    const [inA, inB] = await Promise.all([writesIn(a!.base, total, env.imageDir), writesIn(b!.base, total, env.imageDir)]);
    // The cut falls inside the stream: the first writes are in the group, the last are not.
    assert.ok(inA[1] && inB[1], 'the writes before the group are in it');
    assert.ok(!inA[total] && !inB[total], 'the writes after the group are not');
    for (let k = 1; k <= total; k++) assert.ok(!inB[k] || inA[k], `B's write ${k} is in the group without A's`);

    // Separate snapshots, A's then B's, with one write pair between them: B's holds it, A's does not.
    await a!.dom.snapshotCreateXML('<domainsnapshot><name>s</name></domainsnapshot>', C.DISK_ONLY);
    const k = total + 1;
    await write(a!.dom, k);
    await write(b!.dom, k);
    await b!.dom.snapshotCreateXML('<domainsnapshot><name>s</name></domainsnapshot>', C.DISK_ONLY);
    const overlay = (base: string): string => base.replace(/\.qcow2$/, '.g');
    const [sepA, sepB] = await Promise.all([writesIn(overlay(a!.base), k, env.imageDir), writesIn(overlay(b!.base), k, env.imageDir)]);
    assert.ok(sepB[k] && !sepA[k], 'separate snapshots: B holds write k without A\'s');
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});
