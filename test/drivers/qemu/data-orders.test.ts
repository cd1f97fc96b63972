/**
 * Nothing is lost: pattern A, snapshot s1, B, snapshot s2, C (at distinct offsets, so each
 * state is told apart); then reverts and deletes in several orders, internal and external,
 * reading back after every step the exact data the current state and every remaining
 * snapshot must hold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCreateFlags as C } from '../../../src/api/flags.js';
import type { Domain } from '../../../src/api/domain.js';
import { openQemuTestEnv } from '../../helpers/qemu-connection.js';
import { domainXml, makeImages, diskSourcesIn } from '../../helpers/domain-fixture.js';
import { hasPattern, tagHasPattern, writePattern } from '../../helpers/qemu-io.js';

const K = 65536;
/** Which patterns (A, B, C at offsets 0, K, 2K) each state holds. */
const STATE: Record<string, number[]> = { s1: [0xa], s2: [0xa, 0xb], now: [0xa, 0xb, 0xc] };

/** Reads `image` (or its tag) at A/B/C's offsets and compares with `state`'s patterns (zero elsewhere). */
async function assertState(image: string, tag: string | undefined, state: number[], where: string): Promise<void> {
  for (const [i, p] of [0xa, 0xb, 0xc].entries()) {
    const want = state.includes(p) ? p : 0;
    const ok = tag ? await tagHasPattern(image, tag, want, i * K, K) : await hasPattern(image, 'qcow2', want, i * K, K);
    assert.equal(ok, true, `${where}: ${image}${tag ? `@${tag}` : ''} offset ${i * K} should read ${want}`);
  }
}

/** Checks every remaining snapshot's data without changing the current state. */
async function assertSnapshots(dom: Domain, external: boolean, where: string): Promise<void> {
  for (const s of await dom.listAllSnapshots()) {
    const xml = await s.getXMLDesc();
    const frozen = diskSourcesIn(xml.slice(xml.indexOf('<domain ')));
    for (const img of frozen) await assertState(img, external ? undefined : s.getName(), STATE[s.getName()]!, `${where}, snapshot ${s.getName()}`);
  }
}

/** Delete orders, each after no revert or a revert to one of the snapshots. */
const SCENARIOS: Array<{ order: string[]; revertTo?: string }> = [
  { order: ['s1', 's2'] }, { order: ['s2', 's1'] }, { order: ['s1', 's2'], revertTo: 's1' }, { order: ['s2', 's1'], revertTo: 's2' },
  { order: ['s2', 's1'], revertTo: 's1' },
];

for (const kind of ['internal', 'external'] as const) {
  for (const { order, revertTo } of SCENARIOS) {
    test(`${kind}: ${revertTo ? `revert to ${revertTo}, ` : ''}delete ${order.join(' then ')}; every state keeps its data`, async (t) => {
      const env = await openQemuTestEnv();
      t.after(() => env.cleanup());
      const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
      const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
      const flags = kind === 'external' ? C.DISK_ONLY : 0;
      const cur = async () => diskSourcesIn(await dom.getXMLDesc());
      for (const p of await cur()) await writePattern(p, 'qcow2', 0xa, 0, K);
      await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', flags);
      for (const p of await cur()) await writePattern(p, 'qcow2', 0xb, K, K);
      await dom.snapshotCreateXML('<domainsnapshot><name>s2</name></domainsnapshot>', flags);
      for (const p of await cur()) await writePattern(p, 'qcow2', 0xc, 2 * K, K);
      let now = STATE.now!;
      if (revertTo) {
        await (await dom.snapshotLookupByName(revertTo)).revert();
        now = STATE[revertTo]!;
      }
      for (const p of await cur()) await assertState(p, undefined, now, 'before deletes');
      await assertSnapshots(dom, kind === 'external', 'before deletes');
      for (const name of order) {
        await (await dom.snapshotLookupByName(name)).delete();
        for (const p of await cur()) await assertState(p, undefined, now, `after deleting ${name}`);
        await assertSnapshots(dom, kind === 'external', `after deleting ${name}`);
      }
      assert.deepEqual(await dom.listAllSnapshots(), []);
    });
  }
}

test('internal: revert to each snapshot in turn reads back exactly its data', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xa, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>');
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xb, K, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>s2</name></domainsnapshot>');
  for (const name of ['s1', 's2', 's1', 's2']) {
    await (await dom.snapshotLookupByName(name)).revert();
    for (const d of disks) await assertState(d.path, undefined, STATE[name]!, `revert to ${name}`);
  }
});
