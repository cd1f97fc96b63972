import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VirError, VirErrorCode, VirErrorDomain } from '../../src/api/errors.js';
import { checkSnapshotName, formatSnapshotXML, parseSnapshotXML, type SnapshotParseOptions } from '../../src/conf/snapshot-xml.js';
import { CONF_FIXTURES, scratchFile, virsh, virshErrorMessage, xmllintValidates } from './oracle.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

const NOW = 1386166249;
const fixture = (name: string): string => readFileSync(join(CONF_FIXTURES, 'snapshot', name), 'utf8');

function assertValid(xml: string): void {
  const result = xmllintValidates(xml, 'domainsnapshot');
  assert.ok(result.ok, `xmllint rejected our output:\n${result.output}\n${xml}`);
}

describe('snapshot XML golden files: plain create (in -> out, mocked time)', () => {
  const cases = [
    'empty', 'name-and-description', 'description-only', 'escaping', 'external-vm', 'disk-snapshot',
    'disk-driver-name-null', 'disk-seclabel', 'qcow2-metadata-cache',
  ];
  for (const name of cases) {
    it(name, () => {
      const expected = fixture(`${name}.out.xml`);
      const { def, current } = parseSnapshotXML(fixture(`${name}.in.xml`), { now: NOW });
      assert.equal(current, false);
      const out = formatSnapshotXML(def);
      assert.equal(out, expected);
      assertValid(out);
      // Formatting is a fixed point: the output parses back to the same output.
      assert.equal(formatSnapshotXML(parseSnapshotXML(out, { now: NOW }).def), expected);
    });
  }
});

describe('snapshot XML golden files: redefine (out -> out)', () => {
  const cases: Array<[string, SnapshotParseOptions & { current?: boolean }]> = [
    ['all-parameters', { redefine: true, internal: true, current: true }],
    ['disk-snapshot-redefine', { redefine: true, internal: true, current: false }],
    ['noparent-nodescription-noactive', { redefine: true }],
    ['memory-snapshot-inactivedomain', { redefine: true }],
    ['metadata', { redefine: true }],
  ];
  for (const [name, opts] of cases) {
    it(name, () => {
      const xml = fixture(`${name}.xml`);
      const { def, current } = parseSnapshotXML(xml, opts);
      assert.equal(current, opts.current ?? false);
      const out = formatSnapshotXML(def, opts.internal ? { internal: { current } } : {});
      assert.equal(out, xml);
      assertValid(out);
    });
  }
  it('omits <active> in public output and keeps the typed disk and domain fields', () => {
    const { def } = parseSnapshotXML(fixture('disk-snapshot-redefine.xml'), { redefine: true, internal: true });
    assert.equal(def.state, 'disk-snapshot');
    assert.equal(def.parent, 'earlier_snap');
    assert.equal(def.creationTime, 1272917631);
    assert.deepEqual(def.disks.map((d) => [d.name, d.snapshot, d.format, d.sourcePath]), [
      ['vda', 'external', 'qcow2', '/srv/vm/img/qa2-0.my snap name'],
      ['vdb', 'external', 'qed', '/tmp/vdb.qed'],
      ['hdc', 'no', undefined, undefined],
    ]);
    assert.equal(def.domain?.name, 'QEMUGuest1');
    assert.deepEqual(def.domain?.disks.map((d) => d.target), ['vda', 'vdb', 'hdc']);
    assert.doesNotMatch(formatSnapshotXML(def), /<active>/);
  });
  it('keeps an old snapshot\'s <domain><uuid> only', () => {
    const { def } = parseSnapshotXML(fixture('all-parameters.xml'), { redefine: true, internal: true });
    assert.equal(def.domain, undefined);
    assert.equal(def.domainUuidOnly, '9d37b878-a7cc-9f9a-b78f-49b3abad25a8');
  });
  it('reads the cookie only for online snapshots', () => {
    const online = parseSnapshotXML(fixture('memory-snapshot-inactivedomain.xml'), { redefine: true }).def;
    assert.equal(online.cookie?.name, 'cookie');
    assert.equal(online.inactiveDomain?.type, 'kvm');
    const offlineXml = fixture('memory-snapshot-inactivedomain.xml')
      .replace('<state>running</state>', '<state>shutoff</state>')
      .replace(/<memory [^>]*\/>/, "<memory snapshot='no'/>");
    assert.equal(parseSnapshotXML(offlineXml, { redefine: true }).def.cookie, undefined);
  });
});

describe('snapshot XML: plain create ignores what only redefine may set', () => {
  it('drops state, parent, creationTime and domain, and stamps the creation time', () => {
    const { def } = parseSnapshotXML(
      "<domainsnapshot><name>n</name><state>bogus</state><parent><name>p</name></parent><creationTime>5</creationTime><domain type='nonsense'/></domainsnapshot>",
      { now: NOW },
    );
    assert.equal(def.state, undefined);
    assert.equal(def.parent, undefined);
    assert.equal(def.domain, undefined);
    assert.equal(def.creationTime, NOW);
  });
  it('names an unnamed snapshot after the current epoch second', () => {
    const before = Math.floor(Date.now() / 1000);
    const { def } = parseSnapshotXML('<domainsnapshot><name></name></domainsnapshot>', {});
    const after = Math.floor(Date.now() / 1000);
    assert.ok(def.creationTime !== undefined && def.creationTime >= before && def.creationTime <= after);
    assert.equal(def.name, String(def.creationTime));
  });
  it('treats a <source> or <driver> without snapshot= as external', () => {
    const { def } = parseSnapshotXML(
      "<domainsnapshot><disks><disk name='vda'><driver type='qcow2'/></disk><disk name='vdb'/></disks></domainsnapshot>",
      {},
    );
    assert.equal(def.disks[0]?.snapshot, 'external');
    assert.equal(def.disks[1]?.snapshot, undefined);
  });
  it('reads <active> only for internal metadata', () => {
    assert.equal(parseSnapshotXML('<domainsnapshot><active>1</active></domainsnapshot>', {}).current, false);
    assert.equal(
      parseSnapshotXML('<domainsnapshot><name>a</name><state>running</state><creationTime>1</creationTime><active>1</active></domainsnapshot>', { redefine: true, internal: true }).current,
      true,
    );
  });
  it('reads <snapshotDeleteInProgress/> from internal metadata and writes it back', () => {
    const xml = "<domainsnapshot><name>a</name><state>shutoff</state><creationTime>1</creationTime><disks><disk name='vda' snapshot='external'><snapshotDeleteInProgress/><source file='/a'/></disk></disks><active>0</active></domainsnapshot>";
    const { def } = parseSnapshotXML(xml, { redefine: true, internal: true });
    assert.equal(def.disks[0]?.deleteInProgress, true);
    assert.match(formatSnapshotXML(def), /<disk name='vda' snapshot='external' type='file'>\n {6}<snapshotDeleteInProgress\/>\n {6}<source file='\/a'\/>/);
    assert.equal(parseSnapshotXML(xml.replace('<active>0</active>', ''), { redefine: true }).def.disks[0]?.deleteInProgress, undefined);
  });
});

interface ErrorCase {
  label: string;
  xml: string;
  opts: SnapshotParseOptions;
  code: VirErrorCode;
  message: string;
  /** Compare with `virsh snapshot-create test --xmlfile F [--redefine]` too. */
  oracle?: boolean;
}

const ds = (body: string): string => `<domainsnapshot>${body}</domainsnapshot>`;
const redefineHead = '<name>r</name><state>running</state><creationTime>5</creationTime>';
const offlineHead = '<name>r</name><state>shutoff</state><creationTime>5</creationTime>';

const ERRORS: ErrorCase[] = [
  { label: 'wrong root', xml: '<domain/>', opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: expecting root element of 'domainsnapshot', not 'domain'", oracle: true },
  { label: 'redefine without name', xml: ds(''), opts: { redefine: true }, code: VirErrorCode.XML_ERROR, message: 'XML error: a redefined snapshot must have a name', oracle: true },
  { label: 'redefine without state', xml: ds('<name>r</name><creationTime>5</creationTime>'), opts: { redefine: true }, code: VirErrorCode.XML_ERROR, message: 'XML error: missing state from existing snapshot', oracle: true },
  { label: 'redefine without creationTime', xml: ds('<name>r</name><state>running</state>'), opts: { redefine: true }, code: VirErrorCode.INTERNAL_ERROR, message: 'internal error: missing creationTime from existing snapshot', oracle: true },
  { label: 'redefine with a non-numeric creationTime', xml: ds('<name>r</name><state>running</state><creationTime>x5</creationTime>'), opts: { redefine: true }, code: VirErrorCode.INTERNAL_ERROR, message: 'internal error: missing creationTime from existing snapshot', oracle: true },
  { label: 'redefine with an unknown state', xml: ds('<name>r</name><state>bogus</state><creationTime>5</creationTime>'), opts: { redefine: true }, code: VirErrorCode.CONFIG_UNSUPPORTED, message: "unsupported configuration: Invalid state 'bogus' in domain snapshot XML", oracle: true },
  { label: 'redefine with state nostate', xml: ds('<name>r</name><state>nostate</state><creationTime>5</creationTime>'), opts: { redefine: true }, code: VirErrorCode.CONFIG_UNSUPPORTED, message: "unsupported configuration: Invalid state 'nostate' in domain snapshot XML", oracle: true },
  { label: 'redefine of a shut-off snapshot with memory', xml: ds(`${offlineHead}<memory snapshot='internal'/>`), opts: { redefine: true }, code: VirErrorCode.XML_ERROR, message: 'XML error: memory state cannot be saved with offline or disk-only snapshot', oracle: true },
  { label: 'offline create with external memory', xml: ds("<memory file='/m'/>"), opts: { offline: true }, code: VirErrorCode.XML_ERROR, message: 'XML error: memory state cannot be saved with offline or disk-only snapshot' },
  { label: 'manual memory', xml: ds("<memory snapshot='manual'/>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: 'manual' memory snapshot mode not supported", oracle: true },
  { label: 'memory mode default', xml: ds("<memory snapshot='default'/>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: Invalid value for attribute 'snapshot' in element 'memory': 'default'.", oracle: true },
  { label: 'memory mode bogus', xml: ds("<memory snapshot='bogus'/>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: Invalid value for attribute 'snapshot' in element 'memory': 'bogus'.", oracle: true },
  { label: 'external memory without a file', xml: ds("<memory snapshot='external'/>"), opts: {}, code: VirErrorCode.XML_ERROR, message: 'XML error: external memory snapshots require a filename', oracle: true },
  { label: 'memory file with internal mode', xml: ds("<memory snapshot='internal' file='/x'/>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: memory filename '/x' requires external snapshot", oracle: true },
  { label: 'relative memory file', xml: ds("<memory file='x'/>"), opts: {}, code: VirErrorCode.XML_ERROR, message: 'XML error: memory snapshot file path (x) must be absolute', oracle: true },
  { label: 'disk without name', xml: ds("<disks><disk snapshot='internal'/></disks>"), opts: {}, code: VirErrorCode.INTERNAL_ERROR, message: 'internal error: missing name from disk snapshot element', oracle: true },
  { label: 'disk snapshot bogus', xml: ds("<disks><disk name='vda' snapshot='bogus'/></disks>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: Invalid value for attribute 'snapshot' in element 'disk': 'bogus'.", oracle: true },
  { label: 'disk snapshot default', xml: ds("<disks><disk name='vda' snapshot='default'/></disks>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: Invalid value for attribute 'snapshot' in element 'disk': 'default'.", oracle: true },
  { label: 'disk type volume', xml: ds("<disks><disk name='vda' type='volume'/></disks>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: unsupported disk snapshot type 'volume'", oracle: true },
  { label: 'disk type dir', xml: ds("<disks><disk name='vda' type='dir'/></disks>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: unsupported disk snapshot type 'dir'", oracle: true },
  { label: 'disk type bogus', xml: ds("<disks><disk name='vda' type='bogus'/></disks>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: Invalid value for attribute 'type' in element 'disk': 'bogus'.", oracle: true },
  { label: 'unknown driver', xml: ds("<disks><disk name='vda'><driver type='bogus'/></disk></disks>"), opts: {}, code: VirErrorCode.CONFIG_UNSUPPORTED, message: "unsupported configuration: unknown disk snapshot driver 'bogus'", oracle: true },
  { label: 'driver none', xml: ds("<disks><disk name='vda'><driver type='none'/></disk></disks>"), opts: {}, code: VirErrorCode.CONFIG_UNSUPPORTED, message: "unsupported configuration: unknown disk snapshot driver 'none'", oracle: true },
  { label: 'relative overlay path', xml: ds("<disks><disk name='vda'><source file='rel.qcow2'/></disk></disks>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: disk snapshot image path 'rel.qcow2' must be absolute", oracle: true },
  { label: 'relative block overlay', xml: ds("<disks><disk name='vda' type='block'><source dev='dev/x'/></disk></disks>"), opts: {}, code: VirErrorCode.XML_ERROR, message: "XML error: disk snapshot image path 'dev/x' must be absolute", oracle: true },
  { label: 'internal metadata without <active>', xml: ds(redefineHead), opts: { redefine: true, internal: true }, code: VirErrorCode.INTERNAL_ERROR, message: "internal error: Could not find 'active' element" },
  { label: 'redefine with a bad embedded domain', xml: ds(`${redefineHead}<domain type='bogus'><name>x</name></domain>`), opts: { redefine: true }, code: VirErrorCode.CONFIG_UNSUPPORTED, message: 'unsupported configuration: invalid domain type bogus', oracle: true },
];

describe('snapshot XML errors: libvirt\'s codes and texts', () => {
  for (const c of ERRORS) {
    it(c.label, () => {
      let caught: unknown;
      try {
        parseSnapshotXML(c.xml, c.opts);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof VirError, `expected a VirError, got ${String(caught)}`);
      assert.equal(caught.message, c.message);
      assert.equal(caught.code, c.code);
      if (c.oracle) {
        const flags = c.opts.redefine ? ' --redefine' : '';
        const result = virsh(`snapshot-create test --xmlfile ${scratchFile(c.xml)}${flags}`);
        assert.equal(result.status, 1);
        assert.equal(virshErrorMessage(result.stderr), c.message);
      }
    });
  }
});

describe('checkSnapshotName (qemu\'s rules)', () => {
  it('refuses / and a leading dot with VIR_ERR_XML_DETAIL', () => {
    assert.throws(() => checkSnapshotName('a/b'), (err: unknown) =>
      err instanceof VirError && err.code === VirErrorCode.XML_DETAIL && err.domain === VirErrorDomain.QEMU &&
      err.message === "invalid snapshot name 'a/b': name can't contain '/'");
    assert.throws(() => checkSnapshotName('.hidden'), (err: unknown) =>
      err instanceof VirError && err.message === "invalid snapshot name '.hidden': name can't start with '.'");
  });
  it('accepts ordinary names, including dots inside', () => {
    assert.doesNotThrow(() => checkSnapshotName('s1.before-upgrade'));
  });
});

describe('snapshot XML formatting', () => {
  it('matches virsh snapshot-dumpxml for a test driver snapshot, after a redefine round trip', () => {
    const input = scratchFile(ds("<name>e1</name><description>a &amp; &lt; ' \" &gt; z</description>"));
    const result = virsh(`snapshot-create test --xmlfile ${input}; snapshot-dumpxml test e1`);
    assert.equal(result.status, 0, result.stderr);
    const dumped = result.stdout.slice(result.stdout.indexOf('<domainsnapshot>')).replace(/\n\n$/, '\n');
    const { def } = parseSnapshotXML(dumped, { redefine: true });
    assert.equal(formatSnapshotXML(def), dumped);
    assert.match(dumped, /<description>a &amp; &lt; &apos; &quot; &gt; z<\/description>/);
    assertValid(dumped);
  });
  it('writes a disk-only shut-off snapshot in libvirt\'s element order', () => {
    const out = formatSnapshotXML({
      name: 's1',
      state: 'shutoff',
      parent: 's0',
      creationTime: 1795626843,
      memory: { snapshot: 'no' },
      disks: [{ name: 'vda', snapshot: 'external', type: 'file', format: 'qcow2', sourcePath: '/srv/vm/img/qa2-0.s1' }],
      description: 'd',
    });
    assert.equal(out, [
      '<domainsnapshot>',
      '  <name>s1</name>',
      '  <description>d</description>',
      '  <state>shutoff</state>',
      '  <parent>',
      '    <name>s0</name>',
      '  </parent>',
      '  <creationTime>1795626843</creationTime>',
      "  <memory snapshot='no'/>",
      '  <disks>',
      "    <disk name='vda' snapshot='external' type='file'>",
      "      <driver type='qcow2'/>",
      "      <source file='/srv/vm/img/qa2-0.s1'/>",
      '    </disk>',
      '  </disks>',
      '</domainsnapshot>',
      '',
    ].join('\n'));
    assertValid(out);
  });
  it('hides graphics passwords in the embedded domain unless secure', () => {
    const xml = fixture('metadata.xml').replace(
      '    <devices>\n',
      "    <devices>\n      <graphics type='vnc' port='-1' autoport='yes' passwd='s3cret'/>\n",
    );
    const { def } = parseSnapshotXML(xml, { redefine: true });
    assert.doesNotMatch(formatSnapshotXML(def), /s3cret/);
    assert.match(formatSnapshotXML(def, { secure: true }), /passwd='s3cret'/);
  });
});
