/**
 * snapvirtd's clients borrow one open state store per state directory (store-pool.ts)
 * instead of each opening its own. What a connection owns stays its own: a domain started
 * with VIR_DOMAIN_START_AUTODESTROY by one client (python3-libvirt) outlives another
 * client's close and goes with its own. And a state directory removed while the daemon
 * runs is not served from the old, unlinked database: the next client sees the new one,
 * which snapvirt's CLI, another process, reads too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { killQemusUnder } from '../helpers/kill-qemus.js';
import { runCommand, type Outcome } from '../helpers/run-command.js';
import type { TempDir } from '../helpers/temp-dir.js';
import { startSessionDaemon, type RunningDaemon } from '../helpers/snapvirtd.js';

const BIN = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));


describe('the state store snapvirtd lends its clients', () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  let stateDir: string;
  let imageDir: string;
  let uri: string;
  const virsh = (commands: string): Promise<Outcome> => runCommand('virsh', ['-q', '-c', uri, commands], {});
  const snapvirt = (commands: string): Promise<Outcome> =>
    runCommand(process.execPath, [BIN, '-q', '-c', 'qemu:///session', commands], { SNAPVIRT_STATE_DIR: stateDir });

  before(async () => {
    ({ tmp, daemon, stateDir, imageDir, uri } = await startSessionDaemon('snapvirtd-store-'));
  });
  after(async () => {
    await killQemusUnder(stateDir);
    assert.equal(await daemon.stop(), 0);
    await tmp.cleanup();
  });

  it("an autodestroy domain goes with the connection that started it, not with another client's close", async () => {
    const disks = await makeImages(imageDir, 'ad', ['qcow2']);
    const script = `
import json, sys, libvirt
uri = sys.argv[1]
owner = libvirt.open(uri)
dom = owner.createXML(sys.stdin.read(), libvirt.VIR_DOMAIN_START_AUTODESTROY)
other = libvirt.open(uri)
seen = other.lookupByName("ad").isActive()
other.close()
out = {"seen by another client": seen, "after the other client closed": dom.isActive()}
# A virDomainPtr holds its connection: virConnectClose closes it only once none is left.
del dom
owner.close()
third = libvirt.open(uri)
try:
    third.lookupByName("ad")
    out["after its owner closed"] = "still there"
except libvirt.libvirtError as e:
    out["after its owner closed"] = e.get_error_code()
third.close()
print(json.dumps(out))
`;
    const r = await runCommand('/usr/bin/python3', ['-c', script, uri], {}, domainXml('ad', disks));
    assert.equal(r.code, 0, r.stderr);
    // VIR_ERR_NO_DOMAIN (42): the transient domain was destroyed, so it is gone.
    assert.deepEqual(JSON.parse(r.stdout), { 'seen by another client': 1, 'after the other client closed': 1, 'after its owner closed': 42 });
  });

  it('a state directory removed while the daemon runs: the next client opens the new database', async () => {
    const disks = await makeImages(imageDir, 'gone', ['qcow2']);
    const file = join(tmp.path, 'gone.xml');
    await writeFile(file, domainXml('gone', disks));
    assert.equal((await virsh(`define ${file}`)).code, 0);
    assert.match((await virsh('list --all --name')).stdout, /^gone$/m);

    await rm(stateDir, { recursive: true, force: true });
    const empty = await virsh('list --all --name');
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout.trim(), '');

    // Written through the daemon, read by another process: both on the database now in the directory.
    const disks2 = await makeImages(imageDir, 'anew', ['qcow2']);
    const file2 = join(tmp.path, 'anew.xml');
    await writeFile(file2, domainXml('anew', disks2));
    const defined = await virsh(`define ${file2}`);
    assert.equal(defined.code, 0, defined.stderr);
    const cli = await snapvirt('list --all --name');
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout.trim(), 'anew');
  });
});
