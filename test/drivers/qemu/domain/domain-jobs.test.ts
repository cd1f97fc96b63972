/**
 * Jobs across processes, on a real QEMU: an operation run by one process (frozen at a
 * failpoint with SIGSTOP, so nothing depends on timing) is seen by another (the library,
 * snapvirt's CLI, real virsh through snapvirtd) with virDomainGetJobInfo/Stats, and an
 * abort from another process rolls it back: the images, QEMU's block graph, the snapshot
 * metadata and the guest's state are wholly as before. Past a delete's commit point (its
 * merges have copied everything; only their ends are left) its abort is refused, and the
 * delete completes (delete-active-undo.test.ts aborts one before it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainState, SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { DomainJobType } from '../../../../src/drivers/domain-job-info.js';
import { makeRunningEnv, guestWriteVia, nodeNames, queryBlock, type RunningEnv } from '../support/active-env.js';
import { startChildOpStoppedAt } from '../../../helpers/stoppable-child-op.js';
import { runCommand, snapvirtCommand } from '../../../helpers/run-command.js';
import { startSnapvirtd } from '../../../helpers/snapvirtd.js';

function memXml(name: string, file: string): string {
  return `<domainsnapshot><name>${name}</name><memory snapshot='external' file='${file}'/></domainsnapshot>`;
}

/** Everything an aborted operation must leave as it found it. */
async function world(r: RunningEnv): Promise<unknown> {
  return {
    files: (await readdir(r.env.imageDir)).sort(),
    blocks: await queryBlock(r.dom),
    nodes: await nodeNames(r.dom),
    snapshots: await r.dom.snapshotListNames(),
    state: (await r.dom.getState()).state,
  };
}

/** Resolves once another process has asked for an abort (its request file is there). */
async function abortRequested(stateDir: string, uuid: string): Promise<void> {
  const file = join(stateDir, 'locks', `${uuid}.job-abort`);
  for (let i = 0; i < 6000 && !existsSync(file); i++) await sleep(10);
  assert.ok(existsSync(file), 'the abort request was written');
}

/** domjobinfo's output with the elapsed time, which no two readers share, masked. */
const masked = (out: string): string => out.replace(/^(Time elapsed: +)\d+ +ms$/m, '$1N ms');

test('a live snapshot with memory, aborted from another process midway, rolls back: the world is wholly before', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  await dom.create();
  for (const [i, d] of r.disks.entries()) await guestWriteVia(dom, d.target, 0x41 + i, 0, '64k');
  const before = await world(r);
  const cli = (cmd: string): ReturnType<typeof snapvirtCommand> =>
    snapvirtCommand(['-c', 'qemu:///session', cmd], { SNAPVIRT_STATE_DIR: env.stateDir });

  // Frozen before its third step (overlays, nodes, then the memory): the job is under way.
  const child = await startChildOpStoppedAt(env.stateDir, 'live-create.prepare.step.before',
    ['create', 'vm', memXml('m1', join(env.imageDir, 'm1.mem')), '0'], 3);
  try {
    const info = await dom.getJobInfo();
    assert.equal(info.type, DomainJobType.UNBOUNDED);
    const stats = await dom.getJobStats();
    assert.deepEqual(stats.params.find((p) => p.field === 'operation'), { field: 'operation', type: 'int', value: 6 });
    const shown = await cli('domjobinfo vm');
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(masked(shown.stdout), 'Job type:         Unbounded   \nOperation:        Snapshot    \nTime elapsed:     N ms\n\n');

    // The CLI's abort waits for the job's answer; the job answers once it runs again.
    const abort = cli('domjobabort vm');
    await abortRequested(env.stateDir, dom.getUUIDString());
    const ended = await child.resume();
    assert.notEqual(ended.code, 0);
    assert.match(ended.stderr, /operation aborted: job 'snapshot' canceled by client/);
    const aborted = await abort;
    assert.equal(aborted.code, 0, aborted.stderr);
  } finally {
    try { process.kill(child.pid, 'SIGCONT'); } catch { /* it has ended */ }
  }
  assert.deepEqual(await world(r), before);
  assert.equal((await dom.getState()).state, DomainState.RUNNING);
  const none = await cli('domjobinfo vm; domjobinfo vm --completed');
  assert.equal(none.stdout, 'Job type:         None        \n\nJob type:         Cancelled   \n\n');
  const again = await cli('domjobabort vm');
  assert.equal(again.stderr, 'error: Requested operation is not valid: no job is active on the domain\n');
});

test('through snapvirtd, virsh sees a live delete\'s merge job another process runs; its abort is refused past the commit point', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  await dom.create();
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  await guestWriteVia(dom, 'vda', 0x5a, 0, '1M');
  const daemon = await startSnapvirtd(env.imageDir + '/..', { SNAPVIRT_STATE_DIR: env.stateDir });
  t.after(() => daemon.stop());
  const uri = `qemu+unix:///session?socket=${daemon.socket}`;
  const virsh = (cmd: string): ReturnType<typeof runCommand> => runCommand('virsh', ['-c', uri, cmd]);
  const cli = (cmd: string): ReturnType<typeof snapvirtCommand> =>
    snapvirtCommand(['-c', 'qemu:///session', cmd], { SNAPVIRT_STATE_DIR: env.stateDir });

  const idle = await virsh('domjobinfo vm');
  assert.equal(idle.code, 0, idle.stderr);
  assert.equal(idle.stdout, 'Job type:         None        \n\n');
  assert.equal((await cli('domjobinfo vm')).stdout, idle.stdout);

  const child = await startChildOpStoppedAt(env.stateDir, 'live-delete.finalize.before', ['delete', 'vm', 's1', '0']);
  try {
    const shown = await virsh('domjobinfo vm');
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(masked(shown.stdout), 'Job type:         Unbounded   \nOperation:        Snapshot delete\nTime elapsed:     N ms\n' +
      'Data processed:   16.000 MiB\nData remaining:   0.000 B\nData total:       16.000 MiB\n\n');
    assert.equal(masked((await cli('domjobinfo vm')).stdout), masked(shown.stdout));
    const refused = await virsh('domjobabort vm');
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'error: Requested operation is not valid: cannot abort snapshot delete job: its commit point has passed\n');
    const cliRefused = await cli('domjobabort vm');
    assert.deepEqual([cliRefused.code, cliRefused.stderr, cliRefused.stdout], [1, refused.stderr, refused.stdout]);
  } finally {
    const ended = await child.resume();
    assert.equal(ended.code, 0, ended.stderr);
  }
  assert.deepEqual(await dom.snapshotListNames(), []);
  assert.equal((await queryBlock(dom))[0]!.depth, 0, 'the overlay was merged');
  assert.equal((await virsh('domjobinfo vm --completed')).stdout, 'Job type:         Completed   \nOperation:        Snapshot delete\nTime elapsed:     ' +
    (await virsh('domjobinfo vm --completed --rawstats')).stdout.match(/time_elapsed: (\d+)/)![1]!.padEnd(12) + ' ms\n' +
    'Data processed:   16.000 MiB\nData remaining:   0.000 B\nData total:       16.000 MiB\n\n');
});

test('a live revert to a snapshot with memory, aborted from another process, rolls back: the old QEMU runs on as it was', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  await dom.create();
  await dom.snapshotCreateXML(memXml('e1', join(env.imageDir, 'e1.mem')));
  await guestWriteVia(dom, 'vda', 0x77, 0, '64k');
  const before = await world(r);
  const id = dom.getID();
  const cli = (cmd: string): ReturnType<typeof snapvirtCommand> =>
    snapvirtCommand(['-c', 'qemu:///session', cmd], { SNAPVIRT_STATE_DIR: env.stateDir });

  const child = await startChildOpStoppedAt(env.stateDir, 'live-revert.prepare.step.before', ['revert', 'vm', 'e1', '0'], 1);
  try {
    const shown = await cli('domjobinfo vm');
    assert.equal(masked(shown.stdout), 'Job type:         Unbounded   \nOperation:        Snapshot revert\nTime elapsed:     N ms\n\n');
    const abort = cli('domjobabort vm');
    await abortRequested(env.stateDir, dom.getUUIDString());
    const ended = await child.resume();
    assert.notEqual(ended.code, 0);
    assert.match(ended.stderr, /operation aborted: job 'snapshot revert' canceled by client/);
    const aborted = await abort;
    assert.equal(aborted.code, 0, aborted.stderr);
  } finally {
    try { process.kill(child.pid, 'SIGCONT'); } catch { /* it has ended */ }
  }
  assert.deepEqual(await world(r), before);
  assert.equal((await r.env.conn.domainLookupByName('vm')).getID(), id, 'the same QEMU runs');
});
