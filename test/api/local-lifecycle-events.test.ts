/**
 * Lifecycle events on a local connection (no daemon): the connection's own changes reach
 * its callbacks in order, each with libvirt's event and detail numbers, by the time the
 * call resolves; a callback for one domain hears only it; after deregistering nothing more
 * arrives. On qemu:///session, a change the CLI makes in another process arrives within a
 * look or two.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, DomainEventID, VirError, type Domain } from '../../src/index.js';
import { openQemuTestEnv } from '../helpers/qemu-connection.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { killAllQemu } from '../drivers/qemu/support/active-env.js';

const SNAPVIRT = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));

test('test:///default: own changes reach the callbacks in order, at once; deregistered, nothing more', async () => {
  const conn = await connect('test:///default');
  try {
    const all: string[] = [];
    const onlyTest: string[] = [];
    const record = (into: string[]) => (dom: Domain, event: number, detail: number): void => { into.push(`${dom.getName()} ${event} ${detail}`); };
    const allID = await conn.domainEventRegisterAny(null, DomainEventID.LIFECYCLE, record(all));
    const test = await conn.domainLookupByName('test');
    const testID = await conn.domainEventRegisterAny(test, DomainEventID.LIFECYCLE, record(onlyTest));
    await test.suspend();
    assert.deepEqual(all, ['test 3 0'], 'heard by the time suspend() resolved');
    await test.resume();
    await test.destroy();
    const xml = (await test.getXMLDesc()).replace('<name>test</name>', '<name>ev</name>').replace(/<uuid>[^<]*<\/uuid>/, '');
    const ev = await conn.domainDefineXML(xml);
    await ev.create();
    await ev.destroy();
    await ev.rename('ev2');
    await ev.undefine();
    assert.deepEqual(all, [
      'test 3 0', 'test 4 0', 'test 5 1', // SUSPENDED PAUSED, RESUMED UNPAUSED, STOPPED DESTROYED
      'ev 0 0', 'ev 2 0', 'ev 5 1', // DEFINED ADDED, STARTED BOOTED, STOPPED DESTROYED
      'ev 1 1', 'ev2 0 2', 'ev2 1 0', // UNDEFINED RENAMED, DEFINED RENAMED, UNDEFINED REMOVED
    ]);
    assert.deepEqual(onlyTest, ['test 3 0', 'test 4 0', 'test 5 1']);
    await conn.domainEventDeregisterAny(testID);
    await conn.domainEventDeregisterAny(allID);
    await test.create();
    assert.equal(all.length, 9);
    await assert.rejects(conn.domainEventDeregisterAny(allID), (e: unknown) =>
      e instanceof VirError && e.code === 8 && e.message === `invalid argument: unable to find callback ID ${allID}`);
  } finally {
    await conn.close();
  }
});

test('qemu:///session: a change another process makes reaches a local callback', { timeout: 120_000 }, async (t) => {
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const xmlFile = join(env.tmp.path, 'vm.xml');
  await writeFile(xmlFile, domainXml('vm', await makeImages(env.imageDir, 'vm', ['qcow2'])));
  const seen: string[] = [];
  const id = await env.conn.domainEventRegisterAny(null, DomainEventID.LIFECYCLE, (dom, event, detail) => { seen.push(`${dom.getName()} ${event} ${detail}`); });
  const cli = (commands: string): Promise<void> => new Promise((resolve, reject) => {
    execFile(process.execPath, [SNAPVIRT, '-c', 'qemu:///session', commands], { env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir } },
      (err, _out, stderr) => (err ? reject(new Error(stderr)) : resolve()));
  });
  const waitFor = async (count: number): Promise<void> => {
    for (let i = 0; i < 200 && seen.length < count; i++) await sleep(50);
    assert.equal(seen.length, count, JSON.stringify(seen));
  };
  await cli(`define ${xmlFile}`);
  await waitFor(1);
  await cli('start vm');
  await waitFor(2);
  // This connection's own change: heard by the time the call resolves.
  await (await env.conn.domainLookupByName('vm')).destroy();
  assert.deepEqual(seen, ['vm 0 0', 'vm 2 0', 'vm 5 1']);
  await env.conn.domainEventDeregisterAny(id);
});
