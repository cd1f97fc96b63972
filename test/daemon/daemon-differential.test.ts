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
 * Scenarios whose outcome through any daemon differs from a direct run, libvirtd's too, by
 * the nature of a remote connection rather than by anything snapvirtd does.
 */
const REMOTE_BY_NATURE: Readonly<Record<string, string>> = {
  'xml: snapshot XML of exactly 10 MiB is read':
    'past REMOTE_STRING_MAX (4 MiB): virsh\'s own remote driver refuses to send it ("Unable to encode message payload"), as with libvirtd',
  'uri: unreadable node file':
    'the "I/O warning : failed to load external entity" line is libxml2\'s in the process that parses the node file: the daemon\'s, not virsh\'s',
};

/**
 * The scenarios that run through the daemon: those compared with virsh, whose URI is a
 * test:/// one the daemon serves, that set no environment of their own (the daemon does
 * not share the client's), and that are not remote by nature.
 */
function throughDaemon(s: Scenario): boolean {
  const uri = s.uri === undefined ? 'test:///default' : s.uri;
  return s.deviation === undefined && uri !== null && uri.startsWith('test:///') && s.env === undefined && !(s.name in REMOTE_BY_NATURE);
}

async function runViaDaemon(scenario: Scenario, socket: string): Promise<Outcome> {
  // The same prefix as the direct run's, so paths (and the tables sized by them) are as long.
  const dir = await mkdtemp(join(tmpdir(), 'snapvirt-diff-'));
  try {
    await materialise(scenario, dir);
    const args = argvFor(scenario, dir);
    const c = args.indexOf('-c');
    args[c + 1] = daemonUri(args[c + 1], socket);
    const raw = await runProcess('virsh', args, dir, environmentFor(scenario, dir));
    // virsh's `uri` prints the URI it connected with: the transport and socket are the client's.
    const clean = (t: string): string => normalise(t, dir, raw.startedAt, raw.endedAt).split(`?socket=${socket}`).join('').split('test+unix://').join('test://');
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
    for (const name of Object.keys(REMOTE_BY_NATURE)) assert.ok(allScenarios.some((s) => s.name === name), `no scenario ${name}`);
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
