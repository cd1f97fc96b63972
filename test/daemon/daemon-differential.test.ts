/**
 * The differential suite through the daemon: every scenario that libvirt's own test driver
 * is the reference for runs as real `virsh -c 'test+unix:///…?socket=…'` against one
 * snapvirtd, and must print exactly what `virsh -c test:///…` prints without a daemon
 * (stdout, stderr, exit status, after the suite's normalisation). The client is libvirt's,
 * so this checks the wire protocol, the procedures served and the errors sent back, not
 * just snapvirt's own CLI.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argvFor, environmentFor, mapLimited, materialise, normalise, runProcess, runWith, describeDifference } from '../differential/harness.js';
import type { Outcome, Scenario } from '../differential/scenario.js';
import { allScenarios } from '../differential/scenarios/index.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { daemonUri, startSnapvirtd, type RunningDaemon } from '../helpers/snapvirtd.js';

/**
 * Scenarios whose outcome through a daemon is not the direct one for a reason of the
 * setup, not of snapvirtd: the URI or environment is the client's own (no -c, an
 * environment variable the daemon does not share).
 */
function throughDaemon(s: Scenario): boolean {
  const uri = s.uri === undefined ? 'test:///default' : s.uri;
  return s.deviation === undefined && uri !== null && uri.startsWith('test:///') && s.env === undefined;
}

async function runViaDaemon(scenario: Scenario, socket: string): Promise<Outcome> {
  const dir = await mkdtemp(join(tmpdir(), 'snapvirt-dd-'));
  try {
    await materialise(scenario, dir);
    const args = argvFor(scenario, dir);
    const c = args.indexOf('-c');
    args[c + 1] = daemonUri(args[c + 1], socket);
    const raw = await runProcess('virsh', args, dir, environmentFor(scenario, dir));
    const clean = (t: string): string => normalise(t, dir, raw.startedAt, raw.endedAt).split(`?socket=${socket}`).join('');
    return { stdout: clean(raw.stdout), stderr: clean(raw.stderr), code: raw.code };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('differential through snapvirtd: virsh → snapvirtd vs virsh on libvirt\'s test driver', () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  before(async () => {
    tmp = await makeTempDir('snapvirt-daemon-diff-');
    daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') });
  });
  after(async () => {
    await daemon.stop();
    await tmp.cleanup();
  });

  it('every scenario libvirt is the reference for prints the same through the daemon', async () => {
    const scenarios = allScenarios.filter(throughDaemon);
    assert.ok(scenarios.length >= 300, `only ${scenarios.length} scenarios`);
    const mismatches = (await mapLimited(scenarios, 4, async (s) => {
      const [reference, actual] = await Promise.all([runWith('virsh', s), runViaDaemon(s, daemon.socket)]);
      const diff = describeDifference(reference, actual, 'virsh');
      return diff === '' ? undefined : `${s.name}: ${s.commands ?? (s.argv ?? []).join(' ')}\n${diff}`;
    })).filter((m): m is string => m !== undefined);
    assert.deepEqual(mismatches, []);
    // No client was dropped for a protocol error along the way.
    assert.doesNotMatch(daemon.log(), /closed:/);
  });
});
