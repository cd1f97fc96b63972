/**
 * The QEMU driver on RUNNING domains held against real libvirtd 9.0: the same small TCG
 * domain (two qcow2 disks in a temp dir, no guest OS: the firmware idles) runs under a
 * private libvirtd (test/helpers/private-libvirtd.ts) and under snapvirt's
 * qemu:///session, and each case runs the same virsh command line on both; stdout, stderr
 * and exit status must be equal once each side's directory is replaced by `{dir}`. A case
 * where snapvirt deliberately differs names its reason (listed in docs/COMPATIBILITY.md)
 * and pins snapvirt's own output. (snapshot-info is left out: its Quiesced line is a listed
 * extension.) The shut-off cases: test/drivers/qemu/libvirtd-parity.test.ts.
 * One libvirtd and one QEMU per side for the whole file; every QEMU is killed and
 * libvirtd's configuration put back in after(), whatever failed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { domainXml, type FixtureDisk } from '../helpers/domain-fixture.js';
import { killQemusUnder } from '../helpers/kill-qemus.js';
import { ORACLE_DOMAIN_PREFIX, startQemuOracle, type QemuOracle } from '../helpers/private-libvirtd.js';
import { assertParity, runBothSides, type ParityCase, type ParitySides } from '../helpers/libvirtd-parity-case.js';

const run = promisify(execFile);
const D = `${ORACLE_DOMAIN_PREFIX}running`;
const UUID = '6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d';

// In order: each case but the last leaves the domain running, with the snapshots it made
// (a listed difference leaves a snapshot on one side only, so later listings are pinned too).
const CASES: ParityCase[] = [
  { name: 'start of a running domain', commands: 'start D; domstate D' },
  { name: "create of a running domain's XML", commands: 'create {dir}/domain.xml; domstate D' },
  { name: 'qemu-monitor-command errors', commands: `qemu-monitor-command D '{"execute":"no-such-command"}'; qemu-monitor-command D --hmp no-such-command; qemu-monitor-command D 'not json'; qemu-monitor-command D '{"execute":"query-status"}'; qemu-monitor-command D --pretty query-status; qemu-monitor-command D --return-value query-status; qemu-monitor-command D --return-value --pretty query-status; qemu-monitor-command D '{"execute":"no-such","id":"mine"}'; qemu-monitor-command D '{"execute":"query-status","id":7}'` },
  { name: '--live on a disk-only snapshot', commands: 'snapshot-create-as D x --disk-only --live; snapshot-create-as D x --live --diskspec vda,snapshot=external; snapshot-list D --name' },
  { name: '--quiesce without a guest agent', commands: 'snapshot-create-as D q --disk-only --quiesce; snapshot-create-as D q --quiesce; snapshot-list D --name' },
  { name: '--disk-only with --memspec', commands: 'snapshot-create-as D x --disk-only --memspec {dir}/m; snapshot-create-as D x --disk-only --memspec snapshot=no; snapshot-create-as D x --disk-only --memspec snapshot=internal; snapshot-list D --name' },
  { name: 'bad diskspecs on a running domain', commands: 'snapshot-create-as D x --disk-only --diskspec vdz; snapshot-create-as D x --disk-only --diskspec vda,snapshot=bogus; snapshot-create-as D x --disk-only --diskspec vda,file=relative.qcow2; snapshot-create-as D x --disk-only --diskspec vda,snapshot=internal; snapshot-create-as D x --disk-only --diskspec vda,snapshot=no --diskspec vdb,snapshot=no; snapshot-create-as D x --disk-only --diskspec vda --diskspec vda; snapshot-list D --name' },
  { name: 'revert refusals while running', commands: 'snapshot-create-as D r1; snapshot-revert D r1 --running --paused; snapshot-revert D; snapshot-revert D r1; domstate D; snapshot-current D --name' },
  { name: 'delete refusals', commands: 'snapshot-delete D r1 --children --children-only; snapshot-delete D nosuch; snapshot-delete D --current --children --metadata --children-only; snapshot-list D --name' },
  { name: '--halt', commands: 'snapshot-create-as D h --halt; domstate D; snapshot-current D --name; snapshot-list D --name --active; start D; domstate D' },
  {
    name: 'external snapshots with memory, --live and not',
    commands: 'snapshot-create-as D m --memspec {dir}/m.mem --diskspec vda,file={dir}/m-a.qcow2 --diskspec vdb,file={dir}/m-b.qcow2; domstate D; '
      + 'snapshot-create-as D m2 --live --memspec {dir}/m2.mem --diskspec vda,file={dir}/m2-a.qcow2 --diskspec vdb,file={dir}/m2-b.qcow2; domstate D; '
      + 'snapshot-list D --name --external --active; snapshot-parent D m2',
  },
  {
    name: 'an external memory file that already exists',
    commands: 'snapshot-create-as D m3 --memspec {dir}/m.mem --diskspec vda,file={dir}/m3-a.qcow2 --diskspec vdb,file={dir}/m3-b.qcow2; snapshot-list D --name --external --active',
    difference: "libvirt 9.0 writes over the file (m's memory state is lost); snapvirt refuses and changes nothing",
    expected: { stdout: '\nm\nm2\n\n', stderr: "error: Requested operation is not valid: memory snapshot file '{dir}/m.mem' already exists\n", code: 0 },
  },
  {
    name: 'a live disk-only snapshot, reverted and deleted',
    commands: 'snapshot-create-as D e1 --disk-only; snapshot-list D --name --disk-only --external; snapshot-revert D e1; domstate D; snapshot-delete D e1; snapshot-list D --name',
    difference: 'libvirt 9.0 cannot revert to an external snapshot (9.9 can; a disk-only one leaves the domain shut off) nor delete one whose parent is internal; snapvirt does both',
    expected: {
      stdout: 'Domain snapshot e1 created\ne1\nx\n\nDomain snapshot e1 reverted\n\nshut off\n\nDomain snapshot e1 deleted\n\nh\nm\nm2\nr1\nx\n\n',
      stderr: '',
      code: 0,
    },
  },
];

let tmp: TempDir | undefined;
let oracle: QemuOracle | undefined;
const sides: ParitySides = { virsh: '', snapvirt: '' };

async function prepareSide(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const disks: FixtureDisk[] = [];
  for (const [i, target] of ['vda', 'vdb'].entries()) {
    const path = join(dir, `disk${i}.qcow2`);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', path, '16M']);
    disks.push({ target, path, format: 'qcow2' });
  }
  const xml = join(dir, 'domain.xml');
  await writeFile(xml, domainXml(D, disks, UUID));
  return xml;
}

describe('qemu driver on a running domain: snapvirt vs real libvirtd', { concurrency: false }, () => {
  before(async () => {
    tmp = await makeTempDir('snapvirt-libvirtd-run-');
    oracle = await startQemuOracle(join(tmp.path, 'daemon'), join(tmp.path, 'state'));
    sides.virsh = join(tmp.path, 'v');
    sides.snapvirt = join(tmp.path, 's');
    for (const [side, runner] of [[sides.virsh, oracle.virsh], [sides.snapvirt, oracle.snapvirt]] as const) {
      const out = await runner(`define ${await prepareSide(side)}; start ${D}`);
      assert.equal(out.code, 0, out.stderr);
    }
  });
  after(async () => {
    // libvirtd destroys and undefines its domains and puts its configuration back; snapvirt's QEMU is killed by pid.
    await oracle?.stop();
    if (tmp) {
      await killQemusUnder(join(tmp.path, 'state'));
      await tmp.cleanup();
    }
  });

  for (const c of CASES) {
    it(c.name, async () => {
      assert.ok(oracle);
      assertParity(c, await runBothSides(oracle, sides, D, c.commands));
    });
  }
});
