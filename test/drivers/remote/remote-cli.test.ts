/**
 * `snapvirt -c URI` through a real snapvirtd, over a unix socket and over ssh (a real
 * sshd on 127.0.0.1 that the test starts and stops, netcat on the far side): the
 * snapshot-* commands print what they print on the local URI (stdout, stderr, exit
 * status; creation times masked), on libvirt's test node and on qemu:///session with real
 * qcow2 images (snapshot-info's Quiesced line too, through snapvirt's own RPC program);
 * and real virsh reaches the same daemon over the same ssh URI.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { domainXml, makeImages } from '../../helpers/domain-fixture.js';
import { startSnapvirtd, type RunningDaemon } from '../../helpers/snapvirtd.js';
import { startSshd, type TestSshd } from '../../helpers/sshd.js';
import { snapvirtCommand, virshCommand, type Outcome } from '../../helpers/run-command.js';
import { makeTempDir, type TempDir } from '../../helpers/temp-dir.js';


const mask = (text: string): string => text
  .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, 'TIME')
  .replace(/<creationTime>\d+<\/creationTime>/g, '<creationTime>T</creationTime>');
const masked = (o: Outcome): Outcome => ({ stdout: mask(o.stdout), stderr: mask(o.stderr), code: o.code });

/** Batches on libvirt's test node (each opens a fresh node), the failing command last. */
const TEST_NODE_BATCHES = [
  'snapshot-create-as test s1 "first"; snapshot-create-as test s2; snapshot-list test --tree; snapshot-list test --parent; snapshot-current test --name',
  'snapshot-create-as test s1; snapshot-create-as test s2; snapshot-info test s1; snapshot-info test --current; snapshot-parent test s2; snapshot-dumpxml test s1',
  'snapshot-create-as test s1; snapshot-create-as test s2 --print-xml; snapshot-create-as test s3; snapshot-revert test s1; domstate test --reason; snapshot-list test --roots --name',
  'snapshot-create-as test s1; snapshot-create-as test s2; snapshot-delete test s1 --children; snapshot-list test; snapshot-list test --json',
  'snapshot-create-as test s1; snapshot-revert test nope',
  'snapshot-create-as test bad --redefine --halt',
  'snapshot-delete test nope',
  'snapshot-dumpxml nodomain s1',
  'snapshot-create-as test x --disk-only --atomic; snapshot-current test',
];

/** Read-only commands on a qemu:///session domain `vm` that has snapshots before and ext. */
const QEMU_READS = [
  'snapshot-list vm; snapshot-list vm --tree; snapshot-list vm --parent --disk-only; snapshot-list vm --internal',
  'snapshot-info vm before; snapshot-info vm --current; snapshot-parent vm ext; snapshot-current vm --name',
  'snapshot-dumpxml vm before; snapshot-dumpxml vm ext',
  'dominfo vm; domstate vm --reason; domblklist vm; list --all',
  'snapshot-revert vm nope',
  'snapshot-create-as vm bad --redefine',
  'snapshot-delete vm nope --metadata',
];

describe('snapvirt -c through snapvirtd, over a unix socket and over ssh', () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  let sshd: TestSshd;
  let stateDir: string;
  /** The remote URI of `uri` over `transport`. */
  let remoteUri: (uri: string, transport: 'unix' | 'ssh') => string;
  before(async () => {
    tmp = await makeTempDir('snapvirt-remote-cli-');
    stateDir = join(tmp.path, 'state');
    daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: stateDir });
    sshd = await startSshd();
    remoteUri = (uri, transport) => {
      const [scheme, rest] = uri.split('://') as [string, string];
      if (transport === 'unix') return `${scheme}+unix://${rest}?socket=${daemon.socket}`;
      return `${scheme}+ssh://${userInfo().username}@127.0.0.1:${sshd.port}${rest}?socket=${daemon.socket}&keyfile=${sshd.keyfile}&command=${sshd.sshCommand}&no_tty=1`;
    };
  });
  after(async () => {
    await sshd?.stop();
    await daemon?.stop();
    await tmp?.cleanup();
  });

  for (const batch of TEST_NODE_BATCHES) {
    it(`prints what test:///default prints, over unix and ssh: ${batch}`, async () => {
      const local = masked(await snapvirtCommand(['-c', 'test:///default', batch]));
      for (const transport of ['unix', 'ssh'] as const) {
        assert.deepEqual(masked(await snapvirtCommand(['-c', remoteUri('test:///default', transport), batch])), local, transport);
      }
    });
  }

  it('prints what qemu:///session prints for snapshots the daemon made on real qcow2 images, over unix and ssh', async () => {
    const images = join(tmp.path, 'images');
    await mkdir(images);
    const disks = await makeImages(images, 'vm', ['qcow2', 'qcow2']);
    const xmlFile = join(tmp.path, 'vm.xml');
    await writeFile(xmlFile, domainXml('vm', disks, '0f0e0d0c-0b0a-0908-0706-050403020100'));
    const made = await snapvirtCommand(['-c', remoteUri('qemu:///session', 'unix'),
      `define ${xmlFile}; snapshot-create-as vm before first --atomic; snapshot-create-as vm ext --disk-only --diskspec vdb,snapshot=no`]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /Domain snapshot before created\nDomain snapshot ext created/);
    const local = (batch: string): Promise<Outcome> => snapvirtCommand(['-c', 'qemu:///session', batch], { SNAPVIRT_STATE_DIR: stateDir });
    for (const batch of QEMU_READS) {
      const expected = masked(await local(batch));
      // The freeze record is snapvirt's own: snapvirtd serves it through snapvirt's program.
      if (batch.startsWith('snapshot-info')) assert.match(expected.stdout, /^Quiesced: +no$/m);
      for (const transport of ['unix', 'ssh'] as const) {
        assert.deepEqual(masked(await snapvirtCommand(['-c', remoteUri('qemu:///session', transport), batch])), expected, `${transport}: ${batch}`);
      }
    }
    // Real virsh over the same ssh URI reaches the same daemon and prints the same list.
    const listing = 'snapshot-list vm --parent';
    const virsh = masked(await virshCommand(['-c', remoteUri('qemu:///session', 'ssh'), listing]));
    assert.deepEqual(virsh, masked(await local(listing)));
    // And a revert and a delete over ssh change what the local URI sees.
    const changed = await snapvirtCommand(['-c', remoteUri('qemu:///session', 'ssh'), 'snapshot-revert vm before; snapshot-delete vm ext; snapshot-delete vm before']);
    assert.equal(changed.code, 0, changed.stderr);
    assert.deepEqual(await local('snapshot-list vm --name'), { stdout: '\n', stderr: '', code: 0 });
  });
});
