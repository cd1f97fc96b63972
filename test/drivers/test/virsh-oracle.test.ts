/**
 * Compares the test driver with real libvirt: the same operations run in one `virsh -c
 * test:///default` process and through snapvirt's API must print the same XML (creation
 * times masked). Skips nothing: virsh is installed wherever the suite runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect, SnapshotListFlags as L } from '../../../src/index.js';

function virsh(commands: string): string {
  return execFileSync('virsh', ['-q', '-c', 'test:///default', commands], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}
const maskTimes = (xml: string) => xml.replace(/<creationTime>\d+<\/creationTime>/g, '<creationTime>T</creationTime>');

describe('test driver against virsh -c test:///default', () => {
  it('prints the default domain exactly as libvirt', async () => {
    const dom = await (await connect('test:///default')).domainLookupByName('test');
    assert.equal(await dom.getXMLDesc(), virsh('dumpxml test'));
  });

  it('fills in libvirt\'s defaults for a defined domain (disk buses, drive addresses, controllers, NIC names)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'snapvirt-define-'));
    try {
      const file = join(dir, 'd3.xml');
      writeFileSync(file, `<domain type='test'>
  <name>d3</name>
  <os><type>hvm</type></os>
  <memory unit='MiB'>64</memory>
  <description>hi</description>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/tmp/x.qcow2'/><target dev='vdb'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='network'><source network='default'/></interface>
  </devices>
</domain>
`);
      const mask = (xml: string) => xml.replace(/<uuid>[^<]*<\/uuid>/, '<uuid/>').replace(/52:54:00(:[0-9a-f]{2}){3}/, 'MAC');
      const expected = virsh(`define ${file}; dumpxml d3`);
      const conn = await connect('test:///default');
      const dom = await conn.domainDefineXML(readFileSync(file, 'utf8'));
      assert.equal(mask(await dom.getXMLDesc()), mask(expected));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints snapshots of running, paused and shut-off states exactly as libvirt', async () => {
    const expected = virsh('snapshot-create-as test s1; suspend test; snapshot-create-as test s2 --description "two & <three>"; ' +
      'destroy test; snapshot-create-as test s3; snapshot-dumpxml test s1; snapshot-dumpxml test s2; snapshot-dumpxml test s3');
    const dom = await (await connect('test:///default')).domainLookupByName('test');
    await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>');
    await dom.suspend();
    await dom.snapshotCreateXML('<domainsnapshot><name>s2</name><description>two &amp; &lt;three&gt;</description></domainsnapshot>');
    await dom.destroy();
    await dom.snapshotCreateXML('<domainsnapshot><name>s3</name></domainsnapshot>');
    let actual = '';
    for (const name of ['s1', 's2', 's3']) actual += await (await dom.snapshotLookupByName(name)).getXMLDesc();
    assert.equal(maskTimes(actual), maskTimes(expected));
  });

  it('agrees on the topological order after deletes and re-parenting', async () => {
    const build = 'snapshot-create-as test s1; snapshot-create-as test s3; snapshot-create-as test s2; snapshot-revert test s3; ' +
      'snapshot-create-as test s6; snapshot-create-as test s5; snapshot-revert test s6; snapshot-create-as test s4; ' +
      'snapshot-revert test s1; snapshot-create-as test s7; snapshot-create-as test s8; snapshot-delete test s3; ' +
      'snapshot-delete test s6 --children-only;';
    const expected = virsh(`${build} snapshot-list test --topological --name`).split('\n').filter((l) => l !== '' && !l.startsWith('Domain'));
    const dom = await (await connect('test:///default')).domainLookupByName('test');
    const create = (n: string) => dom.snapshotCreateXML(`<domainsnapshot><name>${n}</name></domainsnapshot>`);
    const revert = async (n: string) => (await dom.snapshotLookupByName(n)).revert();
    await create('s1'); await create('s3'); await create('s2'); await revert('s3');
    await create('s6'); await create('s5'); await revert('s6'); await create('s4');
    await revert('s1'); await create('s7'); await create('s8');
    await (await dom.snapshotLookupByName('s3')).delete();
    await (await dom.snapshotLookupByName('s6')).delete(4);
    assert.deepEqual((await dom.listAllSnapshots(L.TOPOLOGICAL)).map((s) => s.getName()), expected);
  });
});
