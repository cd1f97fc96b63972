/** test:///ABSOLUTE/PATH.xml node files: domains, includes, runstates and preloaded snapshots. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connect, DomainState as S, SnapshotRevertFlags as R, SnapshotListFlags as L } from '../../../src/index.js';

// The in-process libvirt log lines are checked in a child process; keep this one quiet.
process.env.SNAPVIRT_LOG_OUTPUTS = 'none';
const dir = mkdtempSync(join(tmpdir(), 'snapvirt-node-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const nodePath = join(dir, 'node.xml');
writeFileSync(nodePath, `<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>dom1</name>
    <uuid>11111111-2222-3333-4444-555555555555</uuid>
    <memory>1024</memory>
    <os><type>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><source file='/tmp/nf/a.img'/><target dev='vda' bus='virtio'/></disk>
    </devices>
    <test:runstate>5</test:runstate>
    <test:domainsnapshot>
      <name>old</name><state>shutoff</state><creationTime>1000</creationTime><memory snapshot='no'/><active>0</active>
    </test:domainsnapshot>
    <test:domainsnapshot>
      <name>child</name><state>running</state><parent><name>old</name></parent><creationTime>1001</creationTime><active>1</active>
    </test:domainsnapshot>
  </domain>
  <domain type='test' file='dom2.xml'/>
</node>
`);
writeFileSync(join(dir, 'dom2.xml'), "<domain type='test'><name>dom2</name><memory>2048</memory><os><type>hvm</type></os></domain>\n");

describe('test driver node files', () => {
  it('loads inline and included domains with their runstates', async () => {
    const conn = await connect(`test://${nodePath}`);
    const doms = await conn.listAllDomains();
    assert.deepEqual(doms.map((d) => [d.getName(), d.getID()]), [['dom2', 1], ['dom1', -1]]);
    const dom1 = await conn.domainLookupByName('dom1');
    assert.deepEqual(await dom1.getState(), { state: S.SHUTOFF, reason: 0 });
    assert.deepEqual(await (await conn.domainLookupByName('dom2')).getState(), { state: S.RUNNING, reason: 0 });
    const xml = await dom1.getXMLDesc();
    assert.doesNotMatch(xml, /test:|xmlns/);
    assert.match(xml, /<vcpu placement='static'>1<\/vcpu>/);
    assert.match(xml, /<type arch='i686'>hvm<\/type>\s*<boot dev='hd'\/>/);
  });

  it('preloads snapshots with their current one and tree', async () => {
    const dom1 = await (await connect(`test://${nodePath}`)).domainLookupByName('dom1');
    assert.equal((await dom1.snapshotCurrent()).getName(), 'child');
    assert.deepEqual((await dom1.listAllSnapshots(L.TOPOLOGICAL)).map((s) => s.getName()), ['old', 'child']);
    const xml = await (await dom1.snapshotLookupByName('old')).getXMLDesc();
    assert.match(xml, /<domain>\s*<uuid>11111111-2222-3333-4444-555555555555<\/uuid>\s*<\/domain>/);
    assert.doesNotMatch(xml, /<active>/);
  });

  it('refuses to revert a snapshot without a domain, even with FORCE', async () => {
    const dom1 = await (await connect(`test://${nodePath}`)).domainLookupByName('dom1');
    for (const flags of [0, R.FORCE]) {
      await assert.rejects((await dom1.snapshotLookupByName('child')).revert(flags), {
        code: 77, message: "revert requires force: snapshot 'child' lacks domain 'dom1' rollback info",
      });
    }
    assert.equal((await dom1.snapshotCurrent()).getName(), 'child');
  });

  it('logs libvirt\'s warning for preloaded snapshots without a domain on stderr', () => {
    const script = `import { connect } from ${JSON.stringify(new URL('../../../src/index.js', import.meta.url).href)};
      await connect(${JSON.stringify(`test://${nodePath}`)});`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8', env: { ...process.env, SNAPVIRT_LOG_OUTPUTS: '', LIBVIRT_LOG_OUTPUTS: '' },
    });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stderr.trimEnd().split('\n').map((l) => l.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: \d+: /, ''));
    assert.deepEqual(lines, [
      'info : libvirt version: 9.0.0, package: 9.0.0-4+deb12u2 (Debian)',
      `info : hostname: ${hostname()}`,
      'warning : virDomainSnapshotDefParse:287 : parsing older snapshot that lacks domain',
      'warning : virDomainSnapshotDefParse:287 : parsing older snapshot that lacks domain',
    ]);
  });

  it('reports a node file with the wrong root or malformed XML as libvirt does', async () => {
    const wrongRoot = join(dir, 'dom2.xml');
    await assert.rejects(connect(`test://${wrongRoot}`), {
      code: 27, message: "XML error: expecting root element of 'node', not 'domain'",
    });
    const bad = join(dir, 'bad.xml');
    writeFileSync(bad, '<node><domain>');
    await assert.rejects(connect(`test://${bad}`), {
      code: 35, message: `${bad}:1: Premature end of data in tag domain line 1\n<node><domain>\n--------------^`,
    });
    await assert.rejects(connect('test:///'), {
      code: 8, message: 'invalid argument: testOpen: supply a path or use test:///default',
    });
  });

  it('reads test-namespace elements whose prefix is declared on the element itself, as virsh does', async () => {
    // libvirt resolves the prefix with libxml2's namespaces, wherever it is declared.
    const ns = "xmlns:t='http://libvirt.org/schemas/domain/test/1.0'";
    const file = join(dir, 'own-ns.xml');
    writeFileSync(file, `<node><domain type='test'><name>d1</name><memory>8192</memory><os><type>hvm</type></os>
      <t:domainsnapshot ${ns}><name>snap1</name><state>shutoff</state><active>0</active>
      <creationTime>1700000000</creationTime></t:domainsnapshot><t:runstate ${ns}>5</t:runstate></domain></node>`);
    const virsh = spawnSync('virsh', ['-q', '-c', `test://${file}`, 'snapshot-list d1 --name; domstate d1'], { encoding: 'utf8' });
    assert.equal(virsh.stdout, 'snap1\nshut off\n', virsh.stderr);
    const conn = await connect(`test://${file}`);
    const dom = await conn.domainLookupByName('d1');
    assert.deepEqual(await dom.snapshotListNames(), ['snap1']);
    assert.equal((await dom.getState()).state, S.SHUTOFF);
    await conn.close();
  });

  it('reports a missing node file as libvirt does', async () => {
    await assert.rejects(connect(`test://${join(dir, 'nope.xml')}`), {
      code: 27, message: `XML error: failed to parse xml document '${join(dir, 'nope.xml')}'`,
    });
  });
});

describe('test driver node files at scale', () => {
  it('loads 10,000 snapshots that each carry a <domain> (over 100,000 elements), as virsh does', async () => {
    const count = 10_000;
    const domain = "<domain type='test'><name>big</name><uuid>22222222-2222-3333-4444-555555555555</uuid>"
      + "<memory unit='KiB'>1024</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
      + "<devices><disk type='file' device='disk'><source file='/tmp/nf/big.img'/><target dev='vda' bus='virtio'/></disk></devices></domain>";
    const snapshots: string[] = [];
    for (let i = 1; i <= count; i++) {
      const parent = i > 1 ? `<parent><name>s${i - 1}</name></parent>` : '';
      snapshots.push(`<test:domainsnapshot><name>s${i}</name><state>shutoff</state>${parent}`
        + `<creationTime>${1000 + i}</creationTime><memory snapshot='no'/>${domain}<active>${i === count ? 1 : 0}</active></test:domainsnapshot>`);
    }
    const bigPath = join(dir, 'big.xml');
    writeFileSync(bigPath, `<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>${domain.slice("<domain type='test'>".length, -'</domain>'.length)}`
      + `<test:runstate>5</test:runstate>${snapshots.join('')}</domain></node>\n`);
    const dom = await (await connect(`test://${bigPath}`)).domainLookupByName('big');
    const names = (await dom.listAllSnapshots(L.TOPOLOGICAL)).map((s) => s.getName());
    assert.equal(names.length, count);
    assert.deepEqual([names[0], names[count - 1]], ['s1', `s${count}`]);
    assert.equal((await dom.snapshotCurrent()).getName(), `s${count}`);
    assert.match(await (await dom.snapshotLookupByName('s5000')).getXMLDesc(), /<source file='\/tmp\/nf\/big.img'\/>/);
  });

  it('still refuses a node file flooded with elements', async () => {
    const floodPath = join(dir, 'flood.xml');
    writeFileSync(floodPath, `<node>${'<a/>'.repeat(400_001)}</node>`);
    await assert.rejects(connect(`test://${floodPath}`), { message: 'XML error: document has more than 400000 elements' });
  });
});

describe('test driver node files with inconsistent snapshot relations', () => {
  const relations = (snaps: Array<[string, string | undefined]>): string => `<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>rel</name><memory>1024</memory><os><type>hvm</type></os>
    ${snaps.map(([name, parent]) => `<test:domainsnapshot><name>${name}</name><state>shutoff</state>`
      + `${parent ? `<parent><name>${parent}</name></parent>` : ''}<creationTime>1</creationTime><active>0</active></test:domainsnapshot>`).join('')}
  </domain>
</node>
`;
  const load = async (snaps: Array<[string, string | undefined]>): Promise<string[]> => {
    const path = join(dir, `rel-${snaps.length}-${snaps.map((s) => s.join('-')).join('_')}.xml`);
    writeFileSync(path, relations(snaps));
    const dom = await (await connect(`test://${path}`)).domainLookupByName('rel');
    return (await dom.listAllSnapshots(L.TOPOLOGICAL)).map((s) => s.getName());
  };
  const inconsistent = { message: /Snapshots have inconsistent relations for domain rel$/ };

  it('refuses a cycle, even one that only some snapshots lead into', async () => {
    await assert.rejects(load([['a', 'b'], ['b', 'a']]), inconsistent);
    await assert.rejects(load([['root', undefined], ['x', 'y'], ['y', 'z'], ['z', 'y']]), inconsistent);
    await assert.rejects(load([['self', 'self']]), inconsistent);
  });

  it('refuses a missing parent', async () => {
    await assert.rejects(load([['a', undefined], ['b', 'gone']]), inconsistent);
  });

  it('accepts a chain and a fork given children first', async () => {
    // Sibling order follows libvirt's hash order, which is unspecified: only parents first is checked.
    const order = await load([['c', 'b'], ['b', 'a'], ['a', undefined], ['d', 'a']]);
    assert.deepEqual([...order].sort(), ['a', 'b', 'c', 'd']);
    assert.equal(order[0], 'a');
    assert.ok(order.indexOf('b') < order.indexOf('c'));
  });
});
