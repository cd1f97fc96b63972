import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirError, VirErrorCode } from '../../src/api/errors.js';
import { parseDomainXML } from '../../src/conf/domain-xml.js';
import type { DomainDef } from '../../src/conf/domain-types.js';
import { formatSnapshotXML, parseSnapshotXML } from '../../src/conf/snapshot-xml.js';
import type { SnapshotDef } from '../../src/conf/snapshot-types.js';
import { scratchFile, virsh, virshErrorMessage } from '../conf/oracle.js';
import { alignSnapshotDisks, checkSnapshotLocations, defaultOverlayPath, findDomainDisk, type AlignDisksOptions } from '../../src/snapshot/disk-align.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

const DOMAIN = parseDomainXML(`<domain type='qemu'>
  <name>qa2</name>
  <memory>1048576</memory>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/srv/vm/img/qa2-0.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/srv/vm/img/qa2-1.qcow2'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
    <disk type='block' device='disk'><source dev='/dev/vg/data'/><target dev='vdc' bus='virtio'/></disk>
  </devices>
</domain>`);

const snapshot = (disks: string, name = 's1'): SnapshotDef =>
  parseSnapshotXML(`<domainsnapshot><name>${name}</name><disks>${disks}</disks></domainsnapshot>`, { now: 1 }).def;

const anyFile = (): boolean => true;
const EXTERNAL: AlignDisksOptions = { defaultMode: 'external', uniformInternal: false, isRegularFile: anyFile };
const INTERNAL_UNIFORM: AlignDisksOptions = { defaultMode: 'internal', uniformInternal: true, isRegularFile: anyFile };

function alignError(def: SnapshotDef, opts: AlignDisksOptions, domain: DomainDef = DOMAIN): VirError {
  try {
    alignSnapshotDisks(def, domain, opts);
  } catch (err) {
    assert.ok(err instanceof VirError, `expected a VirError, got ${String(err)}`);
    return err;
  }
  assert.fail('alignment unexpectedly succeeded');
}

const summary = (def: SnapshotDef): Array<[string, string | undefined, string | undefined]> =>
  def.disks.map((d) => [d.name, d.snapshot, d.sourcePath]);

describe('alignSnapshotDisks', () => {
  it('fills in every domain disk in domain order with default overlay names', () => {
    const def = snapshot("<disk name='vdc' snapshot='no'/>");
    alignSnapshotDisks(def, DOMAIN, { ...EXTERNAL, isRegularFile: (p) => p.endsWith('.qcow2') });
    assert.deepEqual(summary(def), [
      // libvirt's disk order: the virtio disks (by target), then the ide cdrom.
      ['vda', 'external', '/srv/vm/img/qa2-0.s1'],
      ['vdb', 'external', '/srv/vm/img/qa2-1.s1'],
      ['vdc', 'no', undefined],
      ['hdc', 'no', undefined],
    ]);
    assert.deepEqual(def.disks.map((d) => d.type), ['file', 'file', undefined, 'file']);
  });
  it('refuses to generate an overlay name next to a block device when sources are checked', () => {
    const err = alignError(snapshot(''), { ...EXTERNAL, isRegularFile: (p) => p.endsWith('.qcow2') });
    assert.equal(err.message, "unsupported configuration: source for disk 'vdc' is not a regular file; refusing to generate external snapshot name");
  });
  it('resolves disks named by source path and reorders to domain order', () => {
    const def = snapshot("<disk name='/srv/vm/img/qa2-1.qcow2' snapshot='no'/><disk name='vda'><source file='/o/vda.qcow2'/></disk>");
    alignSnapshotDisks(def, DOMAIN, { ...EXTERNAL, isRegularFile: () => true });
    assert.deepEqual(summary(def).slice(0, 3), [
      ['vda', 'external', '/o/vda.qcow2'],
      ['vdb', 'no', undefined],
      ['vdc', 'external', '/dev/vg/data.s1'],
    ]);
    const out = formatSnapshotXML(def);
    assert.match(out, /<disk name='vdb' snapshot='no'\/>/);
    assert.doesNotMatch(out, /qa2-1.qcow2/);
  });
  it('rejects an unknown disk', () => {
    const err = alignError(snapshot("<disk name='vdz'/>"), EXTERNAL);
    assert.equal(err.message, "unsupported configuration: no disk named 'vdz'");
    assert.equal(err.code, VirErrorCode.CONFIG_UNSUPPORTED);
  });
  it('rejects a disk given twice, by target and by path', () => {
    const err = alignError(snapshot("<disk name='vda'/><disk name='/srv/vm/img/qa2-0.qcow2'/>"), EXTERNAL);
    assert.equal(err.message, "unsupported configuration: disk '/srv/vm/img/qa2-0.qcow2' specified twice");
  });
  it('rejects more requests than the domain has disks', () => {
    const err = alignError(snapshot("<disk name='vda'/><disk name='vdb'/><disk name='hdc'/><disk name='vdc'/><disk name='vdd'/>"), EXTERNAL);
    assert.equal(err.message, 'unsupported configuration: too many disk snapshot requests for domain');
  });
  it('rejects a path that two disks share as ambiguous', () => {
    const twin = parseDomainXML(`<domain type='qemu'><name>t</name><memory>1</memory><os><type>hvm</type></os><devices>
      <disk type='file'><source file='/same.img'/><target dev='vda'/></disk>
      <disk type='file'><source file='/same.img'/><target dev='vdb'/></disk></devices></domain>`);
    const err = alignError(snapshot("<disk name='/same.img'/>"), EXTERNAL, twin);
    assert.equal(err.message, "unsupported configuration: no disk named '/same.img'");
  });
  it('requires internal mode everywhere when the driver needs uniform internal snapshots', () => {
    const err = alignError(snapshot("<disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='external'/>"), INTERNAL_UNIFORM);
    assert.equal(err.message, "unsupported configuration: disk 'vdb' must use snapshot mode 'internal'");
    const no = alignError(snapshot("<disk name='vda' snapshot='no'/>"), INTERNAL_UNIFORM);
    assert.equal(no.message, "unsupported configuration: disk 'vda' must use snapshot mode 'internal'");
    const ok = snapshot("<disk name='vda' snapshot='internal'/>");
    alignSnapshotDisks(ok, DOMAIN, INTERNAL_UNIFORM);
    assert.deepEqual(ok.disks.map((d) => d.snapshot), ['internal', 'internal', 'internal', 'no']);
  });
  it('rejects an overlay file on a disk that is not external', () => {
    const def: SnapshotDef = { name: 's1', disks: [{ name: 'vda', snapshot: 'internal', sourcePath: '/x' }] };
    const err = alignError(def, EXTERNAL);
    assert.equal(err.message, "unsupported configuration: file '/x' for disk 'vda' requires use of external snapshot mode");
  });
  it('refuses to name an overlay after a source that is not a regular file', () => {
    const err = alignError(snapshot(''), { ...EXTERNAL, isRegularFile: () => false });
    assert.equal(err.message, "unsupported configuration: source for disk 'vda' is not a regular file; refusing to generate external snapshot name");
  });
  it('refuses to name an overlay after a network source (its name is no regular file), not "without source"', () => {
    const net = parseDomainXML(`<domain type='qemu'><name>t</name><memory>1</memory><os><type>hvm</type></os><devices>
      <disk type='network'><source protocol='rbd' name='pool/img'><host name='h'/></source><target dev='vda'/></disk></devices></domain>`);
    const asked: string[] = [];
    const err = alignError(snapshot(''), { ...EXTERNAL, isRegularFile: (p) => { asked.push(p); return false; } }, net);
    assert.equal(err.message, "unsupported configuration: source for disk 'vda' is not a regular file; refusing to generate external snapshot name");
    assert.deepEqual(asked, ['pool/img']);
  });
  it('detects generated name collisions', () => {
    const clash = parseDomainXML(`<domain type='qemu'><name>t</name><memory>1</memory><os><type>hvm</type></os><devices>
      <disk type='file'><source file='/img/a.qcow2'/><target dev='vda'/></disk>
      <disk type='file'><source file='/img/a.raw'/><target dev='vdb'/></disk></devices></domain>`);
    const err = alignError(snapshot(''), EXTERNAL, clash);
    assert.equal(err.message, "unsupported configuration: cannot generate external snapshot name for disk 'vda': collision with disk 'vdb'");
  });
  it('keeps a disk the domain declares snapshot=\'no\' out when listed without a mode, even under an internal uniform default', () => {
    const dom = parseDomainXML(`<domain type='qemu'><name>t</name><memory>1</memory><os><type>hvm</type></os><devices>
      <disk type='file' snapshot='no'><source file='/img/a.qcow2'/><target dev='vda'/></disk>
      <disk type='file' snapshot='external'><source file='/img/b.qcow2'/><target dev='vdb'/></disk>
      <disk type='file'><source file='/img/c.qcow2'/><target dev='vdc'/><readonly/></disk></devices></domain>`);
    const def = snapshot("<disk name='vda'/><disk name='vdb'/><disk name='vdc'/>");
    alignSnapshotDisks(def, dom, INTERNAL_UNIFORM);
    // Under require-match a declared 'external' yields to the default; 'no' (declared or read-only) never does.
    assert.deepEqual(def.disks.map((d) => d.snapshot), ['no', 'internal', 'no']);
    const unlisted = snapshot('');
    alignSnapshotDisks(unlisted, dom, INTERNAL_UNIFORM);
    assert.deepEqual(unlisted.disks.map((d) => d.snapshot), ['no', 'external', 'no']);
  });
  it('checks listed modes against the default only when it is internal and uniform', () => {
    const dom = parseDomainXML(`<domain type='qemu'><name>t</name><memory>1</memory><os><type>hvm</type></os><devices>
      <disk type='file' snapshot='no'><source file='/img/a.qcow2'/><target dev='vda'/></disk>
      <disk type='file'><source file='/img/b.qcow2'/><target dev='vdb'/></disk></devices></domain>`);
    const external = snapshot("<disk name='vda' snapshot='no'/><disk name='vdb' snapshot='no'/>");
    alignSnapshotDisks(external, dom, { ...INTERNAL_UNIFORM, defaultMode: 'external' });
    assert.deepEqual(external.disks.map((d) => d.snapshot), ['no', 'no']);
    const allowed = snapshot("<disk name='vda' snapshot='no'/>");
    alignSnapshotDisks(allowed, dom, INTERNAL_UNIFORM);
    assert.deepEqual(allowed.disks.map((d) => d.snapshot), ['no', 'internal']);
    const err = alignError(snapshot("<disk name='vdb' snapshot='no'/>"), INTERNAL_UNIFORM, dom);
    assert.equal(err.message, "unsupported configuration: disk 'vdb' must use snapshot mode 'internal'");
  });
  it('takes a disk\'s domain-level snapshot default', () => {
    const dom = parseDomainXML(`<domain type='qemu'><name>t</name><memory>1</memory><os><type>hvm</type></os><devices>
      <disk type='file' snapshot='no'><source file='/img/a.qcow2'/><target dev='vda'/></disk>
      <disk type='file' snapshot='internal'><source file='/img/b.qcow2'/><target dev='vdb'/></disk></devices></domain>`);
    const def = snapshot("<disk name='vdb'/>");
    alignSnapshotDisks(def, dom, EXTERNAL);
    assert.deepEqual(def.disks.map((d) => d.snapshot), ['no', 'internal']);
  });
  it('leaves a domain without disks alone', () => {
    const empty = parseDomainXML("<domain type='qemu'><name>t</name><memory>1</memory><os><type>hvm</type></os></domain>");
    const def = snapshot('');
    alignSnapshotDisks(def, empty, EXTERNAL);
    assert.deepEqual(def.disks, []);
  });
});

describe('defaultOverlayPath and findDomainDisk', () => {
  it('replaces only a suffix in the file name', () => {
    assert.equal(defaultOverlayPath('/srv/vm/img/qa2-0.qcow2', 's1'), '/srv/vm/img/qa2-0.s1');
    assert.equal(defaultOverlayPath('/srv/v.m/img/disk', 's1'), '/srv/v.m/img/disk.s1');
    assert.equal(defaultOverlayPath('/a/b.tar.gz', 's1'), '/a/b.tar.s1');
  });
  it('finds by target, or by an unambiguous absolute source path', () => {
    assert.equal(findDomainDisk(DOMAIN, 'vdb')?.target, 'vdb');
    assert.equal(findDomainDisk(DOMAIN, '/dev/vg/data')?.target, 'vdc');
    assert.equal(findDomainDisk(DOMAIN, 'srv/vm/img/qa2-0.qcow2'), undefined);
  });
});

describe('checkSnapshotLocations', () => {
  const def = (memory: 'no' | 'internal' | 'external', modes: Array<'no' | 'internal' | 'external'>, state?: SnapshotDef['state']): SnapshotDef => ({
    name: 's', state, memory: { snapshot: memory, ...(memory === 'external' ? { file: '/m' } : {}) },
    disks: modes.map((m, i) => ({ name: `vd${String.fromCharCode(97 + i)}`, snapshot: m })),
  });
  const message = (d: SnapshotDef): string => {
    try {
      checkSnapshotLocations(d);
    } catch (err) {
      assert.ok(err instanceof VirError);
      return err.message;
    }
    return 'ok';
  };
  it('applies qemu\'s consistency rules', () => {
    assert.equal(message(def('no', ['no', 'no'])), 'unsupported configuration: nothing selected for snapshot');
    assert.equal(message(def('no', ['internal', 'external'])), 'unsupported configuration: mixing internal and external targets for a snapshot is not yet supported');
    assert.equal(message(def('external', ['internal'])), 'unsupported configuration: mixing internal and external targets for a snapshot is not yet supported');
    assert.equal(message(def('internal', ['no'])), 'unsupported configuration: internal and full system snapshots require all disks to be selected for snapshot');
    assert.equal(message(def('no', ['no', 'internal'], 'disk-snapshot')), 'unsupported configuration: disk-only snapshots require at least one disk to be selected for snapshot');
    assert.equal(message(def('internal', ['internal', 'no'])), 'ok');
    assert.equal(message(def('no', ['external', 'no'], 'disk-snapshot')), 'ok');
    assert.equal(message(def('external', ['external', 'external'])), 'ok');
  });
});

describe('alignSnapshotDisks against the test driver (virsh, test:///default)', () => {
  const live = virsh('dumpxml test');
  const testDomain = parseDomainXML(live.stdout);
  // The test driver aligns with internal as the default and uniform internal disks,
  // or, with external memory, external disks whose originals must be regular files.
  const cases: Array<[string, string, AlignDisksOptions]> = [
    ['unknown disk', "<name>x</name><disks><disk name='vdz'/></disks>", INTERNAL_UNIFORM],
    ['external disk', "<name>x</name><disks><disk name='vda' snapshot='external'/></disks>", INTERNAL_UNIFORM],
    ['disk excluded', "<name>x</name><disks><disk name='vda' snapshot='no'/></disks>", INTERNAL_UNIFORM],
    ['file on an internal disk', "<name>x</name><disks><disk name='vda' snapshot='internal'><source file='/x'/></disk></disks>", INTERNAL_UNIFORM],
    ['too many disks', "<name>x</name><disks><disk name='vda'/><disk name='vdb'/></disks>", INTERNAL_UNIFORM],
    ['external memory over a missing image', "<name>x</name><memory file='/tmp/never-written.mem'/>",
      { defaultMode: 'external', uniformInternal: false, isRegularFile: () => false }],
  ];
  for (const [label, body, opts] of cases) {
    it(label, () => {
      const xml = `<domainsnapshot>${body}</domainsnapshot>`;
      const expected = virshErrorMessage(virsh(`snapshot-create test --xmlfile ${scratchFile(xml)}`).stderr);
      const err = alignError(parseSnapshotXML(xml, {}).def, opts, testDomain);
      assert.equal(err.message, expected);
    });
  }
  it('names a disk given by path by its target, as snapshot-dumpxml shows', () => {
    const xml = "<domainsnapshot><name>x</name><disks><disk name='/guest/diskimage1'/></disks></domainsnapshot>";
    const result = virsh(`snapshot-create test --xmlfile ${scratchFile(xml)}; snapshot-dumpxml test x`);
    assert.equal(result.status, 0, result.stderr);
    const disks = /  <disks>\n[\s\S]*?  <\/disks>\n/.exec(result.stdout)?.[0];
    const def = parseSnapshotXML(xml, {}).def;
    alignSnapshotDisks(def, testDomain, INTERNAL_UNIFORM);
    const ours = /  <disks>\n[\s\S]*?  <\/disks>\n/.exec(formatSnapshotXML(def))?.[0];
    assert.ok(disks);
    assert.equal(ours, disks);
  });
});
