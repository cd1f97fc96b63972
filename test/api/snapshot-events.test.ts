/**
 * snapvirt's own snapshot events in the library (beyond libvirt): a Connection is an
 * EventEmitter of 'snapshot' events for the operations made through it. On test:///default
 * and on qemu:///session with real qcow2 images (qemu-img): created, reverted, deleted,
 * one 'deleted' per snapshot a CHILDREN delete removes; a failed call raises nothing;
 * events.on(conn, 'snapshot') is the async-iterator form; off() stops delivery; another
 * connection's operations are not this one's events (locally, nothing is shared).
 */
import assert from 'node:assert/strict';
import { on } from 'node:events';
import { describe, it } from 'node:test';
import { connect, SnapshotCreateFlags, SnapshotDeleteFlags, type SnapshotEvent, type Connection } from '../../src/index.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { openQemuTestEnv, openSessionAt } from '../helpers/qemu-connection.js';

type Seen = [kind: string, domain: string, snapshot: string];
const record = (conn: Connection): Seen[] => {
  const seen: Seen[] = [];
  conn.on('snapshot', (e: SnapshotEvent) => seen.push([e.kind, e.domain.getName(), e.snapshot]));
  return seen;
};
const SNAP = (name: string): string => `<domainsnapshot><name>${name}</name></domainsnapshot>`;

describe('snapshot events in the library', () => {
  it('test:///default: created, reverted, deleted (descendants too), nothing for a failed call, nothing after off()', async () => {
    await using conn = await connect('test:///default');
    const seen = record(conn);
    const dom = await conn.domainLookupByName('test');
    const s1 = await dom.snapshotCreateXML(SNAP('s1'));
    await dom.snapshotCreateXML(SNAP('s2'));
    await dom.snapshotCreateXML(SNAP('s3'));
    await s1.revert();
    await assert.rejects(dom.snapshotCreateXML(SNAP('s1')));
    await (await dom.snapshotLookupByName('s2')).delete();
    await s1.delete(SnapshotDeleteFlags.CHILDREN);
    assert.deepEqual(seen, [
      ['created', 'test', 's1'], ['created', 'test', 's2'], ['created', 'test', 's3'],
      ['reverted', 'test', 's1'],
      ['deleted', 'test', 's2'],
      ['deleted', 'test', 's1'], ['deleted', 'test', 's3'],
    ]);
    conn.removeAllListeners('snapshot');
    await dom.snapshotCreateXML(SNAP('after'));
    assert.equal(seen.length, 7);
  });

  it('test:///default: the async iterator events.on(conn, "snapshot")', async () => {
    await using conn = await connect('test:///default');
    const ac = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      try {
        for await (const [e] of on(conn, 'snapshot', { signal: ac.signal }) as AsyncIterableIterator<[SnapshotEvent]>) {
          got.push(`${e.kind} ${e.snapshot}`);
          if (got.length === 2) ac.abort();
        }
      } catch (err) {
        if (!(err instanceof Error && err.name === 'AbortError')) throw err;
      }
    })();
    const dom = await conn.domainLookupByName('test');
    const s = await dom.snapshotCreateXML(SNAP('it'));
    await s.delete(SnapshotDeleteFlags.CHILDREN_ONLY);
    await s.delete();
    await reading;
    assert.deepEqual(got, ['created it', 'deleted it']);
  });

  it('qemu:///session on real images: one connection hears its own operations, not another connection\'s', async () => {
    const env = await openQemuTestEnv();
    const other = await openSessionAt(env.stateDir);
    try {
      const disks = await makeImages(env.imageDir, 'ev', ['qcow2', 'qcow2']);
      const dom = await env.conn.domainDefineXML(domainXml('ev', disks));
      const seen = record(env.conn);
      const otherSeen = record(other);
      const xml = '<domainsnapshot><name>d1</name><disks><disk name="vda" snapshot="external"/><disk name="vdb" snapshot="external"/></disks></domainsnapshot>';
      const d1 = await dom.snapshotCreateXML(xml, SnapshotCreateFlags.DISK_ONLY);
      await d1.revert();
      await d1.delete();
      assert.deepEqual(seen, [['created', 'ev', 'd1'], ['reverted', 'ev', 'd1'], ['deleted', 'ev', 'd1']]);
      assert.deepEqual(otherSeen, []);
    } finally {
      await other.close();
      await env.cleanup();
    }
  });
});
