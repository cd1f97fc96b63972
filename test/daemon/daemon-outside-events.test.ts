/**
 * Lifecycle events for changes snapvirtd did not make: the snapvirt CLI, in another process
 * on the same state directory, defines, starts, pauses, reverts and undefines a domain on
 * qemu:///session while python3-libvirt listens through the daemon. Each change reaches the
 * callback once, with libvirt's event and detail numbers (a revert to a shut-off snapshot
 * is STOPPED/FROM_SNAPSHOT); a change made through the daemon is not announced twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTempDir } from '../helpers/temp-dir.js';
import { startSnapvirtd } from '../helpers/snapvirtd.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';

const SNAPVIRT = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));

const LISTENER = `
import sys, libvirt
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda c, d, e, de, o: print("event", d.name(), e, de, flush=True), None)
print("registered", flush=True)
while True:
    libvirt.virEventRunDefaultImpl()
`;

function run(program: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { env }, (err, stdout, stderr) => (err ? reject(new Error(`${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
  });
}

test('changes made by another process reach a client\'s lifecycle callback through the daemon, once each', { timeout: 180_000 }, async () => {
  const tmp = await makeTempDir('snapvirtd-outside-');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp.path, LANG: 'C', SNAPVIRT_STATE_DIR: join(tmp.path, 'state') };
  const d = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: env.SNAPVIRT_STATE_DIR });
  const uri = `qemu+unix:///session?socket=${d.socket}`;
  const listener = spawn('/usr/bin/python3', ['-c', LISTENER, uri], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await mkdir(join(tmp.path, 'images'));
    await writeFile(join(tmp.path, 'ev.xml'), domainXml('ev', await makeImages(join(tmp.path, 'images'), 'ev', ['qcow2'])));
    let out = '';
    let err = '';
    listener.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    listener.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const events = (): string[] => out.split('\n').filter((l) => l.startsWith('event ')).map((l) => l.slice('event '.length));
    const waitFor = async (count: number): Promise<void> => {
      for (let i = 0; i < 300 && events().length < count; i++) await sleep(50);
      assert.ok(events().length >= count, `waited for event ${count}; got ${JSON.stringify(events())}; listener: ${err}`);
    };
    for (let i = 0; i < 200 && !out.includes('registered\n'); i++) await sleep(50);
    assert.match(out, /registered/, err);

    const cli = (commands: string) => run(process.execPath, [SNAPVIRT, '-c', 'qemu:///session', commands], env);
    const expected: string[] = [];
    const step = async (change: () => Promise<string>, ...produced: string[]): Promise<void> => {
      await change();
      expected.push(...produced);
      await waitFor(expected.length);
    };
    await step(() => cli(`define ${join(tmp.path, 'ev.xml')}`), 'ev 0 0'); // DEFINED ADDED
    await cli('snapshot-create-as ev off');
    await step(() => cli('start ev'), 'ev 2 0'); // STARTED BOOTED
    // Through the daemon: its own announcement, not a second one from the look.
    await step(() => run('virsh', ['-c', uri, 'suspend ev'], env), 'ev 3 0'); // SUSPENDED PAUSED
    await step(() => cli('resume ev'), 'ev 4 0'); // RESUMED UNPAUSED
    await step(() => cli('snapshot-revert ev off'), 'ev 5 6'); // STOPPED FROM_SNAPSHOT
    await step(() => cli('start ev --paused'), 'ev 2 0', 'ev 3 0'); // STARTED BOOTED, SUSPENDED PAUSED
    await step(() => cli('destroy ev'), 'ev 5 1'); // STOPPED DESTROYED
    await step(() => cli('domrename ev ev2'), 'ev 1 1', 'ev2 0 2'); // UNDEFINED RENAMED, DEFINED RENAMED
    await step(() => cli('undefine ev2 --snapshots-metadata'), 'ev2 1 0'); // UNDEFINED REMOVED
    // Three more looks: nothing announced twice, nothing made up.
    await sleep(3500);
    assert.deepEqual(events(), expected);
  } finally {
    listener.kill();
    await d.stop();
    await tmp.cleanup();
  }
});
