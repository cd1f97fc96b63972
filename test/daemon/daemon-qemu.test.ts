/**
 * The QEMU driver through snapvirtd, with clients nobody here wrote, on real qcow2 images:
 * real virsh (`qemu+unix:///session?socket=…`) takes an atomic disk-only snapshot of an
 * offline 2-disk domain, lists, reverts and deletes it; Debian's python3-libvirt does the
 * same through libvirt's Python API; and snapvirt's own CLI, a separate process on the
 * same state directory while the daemon runs, sees and changes the same domains.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { runCommand, type Outcome } from '../helpers/run-command.js';
import type { TempDir } from '../helpers/temp-dir.js';
import { startSessionDaemon, type RunningDaemon } from '../helpers/snapvirtd.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));


/** The backing file qemu-img reports for `path`, or undefined. */
async function backingOf(path: string): Promise<string | undefined> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', path]);
  return (JSON.parse(stdout) as { 'backing-filename'?: string })['backing-filename'];
}

describe('qemu:///session through snapvirtd', () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  let stateDir: string;
  let imageDir: string;
  let uri: string;
  const virsh = (commands: string): Promise<Outcome> => runCommand('virsh', ['-c', uri, commands], {});
  const snapvirt = (commands: string): Promise<Outcome> =>
    runCommand(process.execPath, [BIN, '-c', 'qemu:///session', commands], { SNAPVIRT_STATE_DIR: stateDir });

  before(async () => {
    ({ tmp, daemon, stateDir, imageDir, uri } = await startSessionDaemon('snapvirtd-qemu-'));
  });
  after(async () => {
    assert.equal(await daemon.stop(), 0);
    await tmp.cleanup();
  });

  it('virsh: an atomic disk-only snapshot of an offline 2-disk domain, listed, reverted to, deleted', async () => {
    const disks = await makeImages(imageDir, 'vm1', ['qcow2', 'qcow2']);
    const xmlFile = join(tmp.path, 'vm1.xml');
    await writeFile(xmlFile, domainXml('vm1', disks));
    const define = await virsh(`define ${xmlFile}`);
    assert.equal(define.code, 0, define.stderr);
    assert.equal(define.stdout, `Domain 'vm1' defined from ${xmlFile}\n\n`);

    const create = await virsh('snapshot-create-as vm1 s1 --disk-only --atomic');
    assert.equal(create.code, 0, create.stderr);
    assert.equal(create.stdout, 'Domain snapshot s1 created\n');
    const overlays = disks.map((d) => d.path.replace(/\.qcow2$/, '.s1'));
    for (const [i, o] of overlays.entries()) {
      assert.ok(existsSync(o), `overlay ${o}`);
      assert.equal(await backingOf(o), disks[i]!.path);
    }
    const list = await virsh('snapshot-list vm1 --name; snapshot-current vm1 --name; domblklist vm1');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^s1\n\ns1\n/);
    assert.match(list.stdout, new RegExp(`vda +${overlays[0]}\\n vdb +${overlays[1]}`));

    const revert = await virsh('snapshot-revert vm1 s1; snapshot-current vm1 --name');
    assert.equal(revert.code, 0, revert.stderr);
    assert.equal(revert.stdout, 'Domain snapshot s1 reverted\n\ns1\n');

    const del = await virsh('snapshot-delete vm1 s1; snapshot-list vm1 --name; domblklist vm1');
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /^Domain snapshot s1 deleted\n\n\n/);
    // The revert put each disk on a fresh overlay of s1's; deleting s1 leaves it on the original image.
    const reverted = disks.map((d) => d.path.replace(/\.qcow2$/, '.s1-revert1'));
    assert.match(del.stdout, new RegExp(`vda +${reverted[0]}\\n vdb +${reverted[1]}`));
    for (const [i, r] of reverted.entries()) assert.equal(await backingOf(r), disks[i]!.path);
    for (const o of overlays) assert.ok(!existsSync(o), `${o} merged away`);
    // The same state through snapvirt's own CLI, a second process beside the daemon.
    const mine = await snapvirt('snapshot-list vm1 --name; domblklist vm1');
    assert.equal(mine.stdout, del.stdout.replace(/^Domain snapshot s1 deleted\n\n/, ''));
  });

  it('a running domain (real QEMU under TCG): start, qemu-monitor-command (QMP and HMP, the QEMU program), a live atomic disk-only snapshot, destroy', async () => {
    const disks = await makeImages(imageDir, 'run', ['qcow2', 'qcow2']);
    await writeFile(join(tmp.path, 'run.xml'), domainXml('run', disks));
    try {
      const r = await virsh(`define ${join(tmp.path, 'run.xml')}; start run; qemu-monitor-command run '{"execute":"query-status"}'; `
        + `qemu-monitor-command run --hmp 'info status'; snapshot-create-as run live1 --disk-only --atomic; domstate run; domblklist run`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Domain 'run' started\n\n\{"return":\{"status":"running",.*\}\n\nVM status: running\r\n\n\nDomain snapshot live1 created\nrunning\n\n/);
      const overlays = disks.map((d) => d.path.replace(/\.qcow2$/, '.live1'));
      assert.match(r.stdout, new RegExp(`vda +${overlays[0]}\\n vdb +${overlays[1]}`));
      for (const [i, o] of overlays.entries()) assert.equal(await backingOf(o), disks[i]!.path);
    } finally {
      const gone = await virsh('destroy run; snapshot-delete run live1 --metadata; undefine run');
      assert.equal(gone.code, 0, gone.stderr);
    }
  });

  it('side by side: what the CLI does on the state directory, virsh sees through the daemon, and back', async () => {
    const disks = await makeImages(imageDir, 'vm2', ['qcow2', 'qcow2']);
    await writeFile(join(tmp.path, 'vm2.xml'), domainXml('vm2', disks));
    const made = await snapvirt(`define ${join(tmp.path, 'vm2.xml')}; snapshot-create-as vm2 internal1`);
    assert.equal(made.code, 0, made.stderr);
    const seen = await virsh('list --all --name; snapshot-list vm2 --name');
    assert.equal(seen.stdout, 'vm1\nvm2\n\ninternal1\n\n');
    const changed = await virsh('snapshot-create-as vm2 internal2; snapshot-delete vm2 internal1');
    assert.equal(changed.code, 0, changed.stderr);
    const back = await snapvirt('snapshot-list vm2 --name; snapshot-current vm2 --name');
    assert.equal(back.stdout, 'internal2\n\ninternal2\n');
    // An error through the daemon is the library's, as the CLI prints it.
    const [viaDaemon, direct] = await Promise.all([virsh('snapshot-revert vm2 nosuch'), snapvirt('snapshot-revert vm2 nosuch')]);
    assert.deepEqual([viaDaemon.stderr, viaDaemon.code], [direct.stderr, direct.code]);
    assert.equal(viaDaemon.stderr, "error: Domain snapshot not found: no domain snapshot with matching name 'nosuch'\n");
  });

  it('python3-libvirt: open, defineXML, snapshotCreateXML with ATOMIC, listAllSnapshots, revertToSnapshot, delete', async () => {
    const disks = await makeImages(imageDir, 'py', ['qcow2', 'qcow2']);
    const script = `
import json, sys, libvirt
conn = libvirt.open(sys.argv[1])
dom = conn.defineXML(sys.stdin.read())
flags = libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
snap = dom.snapshotCreateXML("<domainsnapshot><name>p1</name></domainsnapshot>", flags)
out = {"type": conn.getType(), "created": snap.getName(), "listed": [s.getName() for s in dom.listAllSnapshots()]}
out["current"] = dom.snapshotCurrent().getName()
dom.revertToSnapshot(snap)
out["state"] = dom.state()
snap.delete()
out["after"] = dom.snapshotListNames()
try:
    dom.snapshotLookupByName("p1")
except libvirt.libvirtError as e:
    out["error"] = [e.get_error_code(), e.get_error_domain(), e.get_error_message()]
dom.undefine()
out["domains"] = sorted(d.name() for d in conn.listAllDomains())
conn.close()
print(json.dumps(out))
`;
    const r = await runCommand('/usr/bin/python3', ['-c', script, uri], {}, domainXml('py', disks));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      // shut off from snapshot (5, 7); the error from the QEMU driver's subsystem (10), as libvirt's qemu driver reports it
      type: 'QEMU', created: 'p1', listed: ['p1'], current: 'p1', state: [5, 7], after: [],
      error: [72, 10, "Domain snapshot not found: no domain snapshot with matching name 'p1'"],
      domains: ['vm1', 'vm2'],
    });
    for (const d of disks) assert.equal(await backingOf(d.path), undefined);
  });
});
