/**
 * Domain lifecycle events through snapvirtd, received by Debian's python3-libvirt with
 * libvirt's own event loop: define, start, suspend, resume, destroy and undefine made
 * through the daemon each reach the registered callback with libvirt's event and detail
 * numbers; after deregistering, nothing more arrives. On a shared URI (qemu:///session) a
 * change made by one client reaches the callbacks of the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { makeTempDir } from '../helpers/temp-dir.js';
import { startSnapvirtd } from '../helpers/snapvirtd.js';

const SCRIPT = `
import json, sys, libvirt
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
seen = []
def lifecycle(conn, dom, event, detail, opaque):
    seen.append([dom.name(), event, detail])
cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None)
def pump(n):
    for _ in range(200):
        if len(seen) >= n:
            return
        libvirt.virEventRunDefaultImpl()
xml = conn.lookupByName("test").XMLDesc(0).replace("<name>test</name>", "<name>ev</name>")
xml = "".join(l for l in xml.splitlines(True) if "<uuid>" not in l)
dom = conn.defineXML(xml); pump(1)
dom.create(); pump(2)
dom.suspend(); pump(3)
dom.resume(); pump(4)
dom.destroy(); pump(5)
dom.undefine(); pump(6)
conn.domainEventDeregisterAny(cb)
conn.lookupByName("test").suspend()
for _ in range(3):
    libvirt.virEventAddTimeout(0, lambda t, o: None, None)
    libvirt.virEventRunDefaultImpl()
conn.close()
print(json.dumps(seen))
`;

test('python3-libvirt receives the lifecycle events of changes made through the daemon', async () => {
  const tmp = await makeTempDir('snapvirtd-events-');
  const d = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') });
  try {
    const out = await new Promise<string>((resolve, reject) => {
      execFile('/usr/bin/python3', ['-c', SCRIPT, `test+unix:///default?socket=${d.socket}`], { timeout: 60_000 }, (err, stdout, stderr) =>
        (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    // DEFINED/ADDED, STARTED/BOOTED, SUSPENDED/PAUSED, RESUMED/UNPAUSED, STOPPED/DESTROYED, UNDEFINED/REMOVED.
    assert.deepEqual(JSON.parse(out), [['ev', 0, 0], ['ev', 2, 0], ['ev', 3, 0], ['ev', 4, 0], ['ev', 5, 1], ['ev', 1, 0]]);
  } finally {
    await d.stop();
    await tmp.cleanup();
  }
});

const LISTENER = `
import json, sys, libvirt
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(sys.argv[1])
seen = []
conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda c, d, e, de, o: seen.append([d.name(), e, de]), None)
print("registered", flush=True)
while len(seen) < int(sys.argv[2]):
    libvirt.virEventRunDefaultImpl()
print(json.dumps(seen), flush=True)
`;

test('qemu:///session: a change one client makes reaches another client\'s callback (virsh makes it, python3-libvirt listens)', { timeout: 120_000 }, async () => {
  const tmp = await makeTempDir('snapvirtd-events2-');
  const d = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') });
  const uri = `qemu+unix:///session?socket=${d.socket}`;
  let stopListener = (): void => undefined;
  try {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { domainXml, makeImages } = await import('../helpers/domain-fixture.js');
    await mkdir(join(tmp.path, 'images'));
    await writeFile(join(tmp.path, 'ev.xml'), domainXml('ev', await makeImages(join(tmp.path, 'images'), 'ev', ['qcow2'])));
    const { spawn } = await import('node:child_process');
    const listener = spawn('/usr/bin/python3', ['-c', LISTENER, uri, '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
    stopListener = () => { if (listener.exitCode === null) listener.kill(); };
    let out = '';
    let err = '';
    listener.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const done = new Promise<void>((resolve) => listener.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      listener.stdout.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('registered\n')) resolve(); });
      listener.once('exit', (code) => reject(new Error(`listener exited ${code}: ${err}`)));
    });
    const changes = await new Promise<string>((resolve, reject) => {
      execFile('virsh', ['-c', uri, `define ${join(tmp.path, 'ev.xml')}; start ev; destroy ev; undefine ev`], (e, stdout, stderr) => (e ? reject(new Error(stderr)) : resolve(stdout)));
    });
    assert.match(changes, /Domain 'ev' has been undefined/);
    await done;
    assert.deepEqual(JSON.parse(out.split('\n')[1]!), [['ev', 0, 0], ['ev', 2, 0], ['ev', 5, 1], ['ev', 1, 0]]);
  } finally {
    stopListener();
    await d.stop();
    await tmp.cleanup();
  }
});
