/**
 * Group snapshots with memory state for running members (no --disk-only; real QEMU under
 * TCG): every running member's machine state is saved to `<domain>.<group>.mem` beside
 * its first disk while all vCPUs are stopped, and its snapshot is an external full-system
 * one. Proved by two tiny guests: a file each keeps in RAM (the initramfs root) holds,
 * after the group revert, what it held at the group's instant, with no reboot between.
 * A failure after the saves removes every memory file and leaves every member running as
 * before; `<memory snapshot='no'/>` (the CLI's --no-memory) makes the running members'
 * snapshots disk-only; the refusals change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DomainState, RunningReason, SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { isVirError } from '../../../../src/api/errors.js';
import type { Domain } from '../../../../src/api/domain.js';
import type { QemuDriver } from '../../../../src/drivers/qemu/qemu-driver.js';
import { main } from '../../../../src/cli/main.js';
import { domainXml, makeImages } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { killAllQemu } from '../support/active-env.js';
import { guestShell, makeGuestDataDisk, tinyGuestWorld, tinyGuestXml, waitForAgent } from '../support/tiny-guest.js';
import { groupWorld } from './group-world.js';

const GROUP = (name: string, extra = ''): string => `<groupsnapshot><name>${name}</name>${extra}</groupsnapshot>`;

async function snapshotState(dom: Domain, name: string): Promise<string | undefined> {
  return /<state>([^<]+)<\/state>/.exec(await (await dom.snapshotLookupByName(name)).getXMLDesc())?.[1];
}

test('group with memory: two guests revert to the machine state of the group\'s instant (a file in RAM), files then removed by the delete', async (t) => {
  const { env, agentSocketOf } = await tinyGuestWorld(t);
  const doms: Domain[] = [];
  const memFiles: string[] = [];
  for (const name of ['ma', 'mb']) {
    const dir = join(env.imageDir, name);
    await mkdir(dir);
    const data = await makeGuestDataDisk(dir);
    doms.push(await env.conn.domainDefineXML(tinyGuestXml(data).replace('<name>guest</name>', `<name>${name}</name>`)));
    memFiles.push(join(dir, `${name}.g.mem`));
  }
  for (const d of doms) await d.create();
  for (const d of doms) await waitForAgent(agentSocketOf(d));
  const marker = async (d: Domain): Promise<string> => (await guestShell(agentSocketOf(d), 'cat /marker')).out.toString().trim();
  for (const d of doms) await guestShell(agentSocketOf(d), `echo ${d.getName()}-then > /marker`);

  await env.conn.groupSnapshotCreateXML(doms, GROUP('g'), 0);
  assert.equal((await (await env.conn.groupSnapshotLookupByName('g')).getInfo()).state, 'running');
  for (const [i, d] of doms.entries()) {
    assert.equal(await snapshotState(d, 'g'), 'running', d.getName());
    assert.ok((await (await d.snapshotLookupByName('g')).getXMLDesc()).includes(`<memory snapshot='external' file='${memFiles[i]}'/>`));
    const st = await stat(memFiles[i]!);
    assert.equal(st.mode & 0o777, 0o600);
    assert.ok(st.size > 1_000_000, `${memFiles[i]} holds the machine state (${st.size} bytes)`);
    assert.equal((await d.getState()).state, DomainState.RUNNING, 'the guest runs again');
  }
  for (const d of doms) await guestShell(agentSocketOf(d), `echo ${d.getName()}-now > /marker`);
  assert.equal(await marker(doms[0]!), 'ma-now');

  // No flag: a running group snapshot ends running, each guest where it was at the group's instant.
  await (await env.conn.groupSnapshotLookupByName('g')).revert(0);
  for (const d of doms) {
    assert.deepEqual(await d.getState(), { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT });
    await waitForAgent(agentSocketOf(d), 30_000);
    assert.equal(await marker(d), `${d.getName()}-then`, 'the RAM of the group\'s instant, not a fresh boot');
  }

  await (await env.conn.groupSnapshotLookupByName('g')).delete(0);
  for (const f of memFiles) await assert.rejects(stat(f), { code: 'ENOENT' }, `${f} is removed with its snapshot`);
  for (const d of doms) assert.deepEqual(await d.snapshotListNames(), []);
});

/** Two running domains (no guest OS) of two disks each. */
async function twoRunning(env: QemuTestEnv): Promise<Domain[]> {
  const doms: Domain[] = [];
  for (const name of ['r0', 'r1']) {
    const images = await makeImages(env.imageDir, name, ['qcow2', 'qcow2'], 16 << 20);
    const dom = await env.conn.domainDefineXML(domainXml(name, images));
    await dom.create();
    doms.push(dom);
  }
  return doms;
}

test('group with memory: a failure after the saves, and each refusal, leave every member, file and run state as before', async (t) => {
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const doms = await twoRunning(env);
  const before = await groupWorld(env, ['r0', 'r1']);
  const running = async (): Promise<number[]> => Promise.all(doms.map(async (d) => (await d.getState()).state));

  process.env.SNAPVIRT_FAILPOINTS = 'group-create.switch.before=error';
  try {
    await assert.rejects(env.conn.groupSnapshotCreateXML(doms, GROUP('g'), 0), (e: unknown) => isVirError(e) && /failpoint/.test(e.message));
  } finally {
    delete process.env.SNAPVIRT_FAILPOINTS;
  }
  assert.deepEqual(await groupWorld(env, ['r0', 'r1']), before, 'no memory file, overlay or snapshot left');
  assert.deepEqual((env.conn.driver as QemuDriver).store.journal.listOpen(), []);
  assert.deepEqual(await running(), [DomainState.RUNNING, DomainState.RUNNING]);

  await assert.rejects(env.conn.groupSnapshotCreateXML(doms, GROUP('g', "<memory snapshot='external'/>"), C.DISK_ONLY),
    /memory state cannot be saved with offline or disk-only snapshot/);
  await assert.rejects(env.conn.groupSnapshotCreateXML(doms, GROUP('g', "<memory snapshot='internal'/>"), 0),
    /unknown memory snapshot mode 'internal'/);
  // A memory file's name taken: refused before anything is touched.
  const taken = join(dirname(before.members['r1']!.sources[0]!), 'r1.g.mem');
  await writeFile(taken, 'not ours');
  await assert.rejects(env.conn.groupSnapshotCreateXML(doms, GROUP('g'), 0), new RegExp(`memory snapshot file '${taken}' already exists`));
  await rm(taken);
  assert.deepEqual(await groupWorld(env, ['r0', 'r1']), before);
  assert.deepEqual(await running(), [DomainState.RUNNING, DomainState.RUNNING]);

  // --no-memory: the running members' snapshots are disk-only.
  const saved = process.env.SNAPVIRT_STATE_DIR;
  process.env.SNAPVIRT_STATE_DIR = env.stateDir;
  let err = '';
  try {
    const status = await main(['-c', 'qemu:///session', 'group-snapshot-create', 'n', 'r0', 'r1', '--no-memory'],
      { out: () => undefined, err: (x) => { err += x; } });
    assert.equal(status, 0, err);
  } finally {
    if (saved === undefined) delete process.env.SNAPVIRT_STATE_DIR;
    else process.env.SNAPVIRT_STATE_DIR = saved;
  }
  for (const d of doms) assert.equal(await snapshotState(d, 'n'), 'disk-snapshot');
  assert.equal((await (await env.conn.groupSnapshotLookupByName('n')).getInfo()).state, 'disk-snapshot');
  assert.deepEqual(await running(), [DomainState.RUNNING, DomainState.RUNNING]);
});
