import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirError, VirErrorCode, VirErrorDomain } from '../../src/api/errors.js';
import { cloneDomainDef, formatDomainXML, parseDomainXML } from '../../src/conf/domain-xml.js';
import { scratchFile, virsh, virshErrorMessage, xmllintValidates } from './oracle.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

/** virsh's stdout holds the document followed by one blank line. */
function dumpxml(args: string): string {
  const result = virsh(`dumpxml ${args}`);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.replace(/\n\n$/, '\n');
}

const MINIMAL = "<domain type='qemu'><name>m</name><memory>1024</memory><os><type>hvm</type></os>";

describe('domain XML round trip against virsh dumpxml test', () => {
  const live = dumpxml('test');
  const inactive = dumpxml('--inactive test');
  it('reproduces the running domain\'s XML, with id, byte for byte', () => {
    assert.match(live, /^<domain type='test' id='1'>/);
    assert.equal(formatDomainXML(parseDomainXML(live), { id: 1 }), live);
    const result = xmllintValidates(formatDomainXML(parseDomainXML(live)), 'domain');
    assert.ok(result.ok, result.output);
  });
  it('drops the id when inactive or when no id is given', () => {
    const def = parseDomainXML(live);
    assert.equal(formatDomainXML(def, { id: 1, inactive: true }), inactive);
    assert.equal(formatDomainXML(def), inactive);
  });
  it('types the fields snapshots need', () => {
    const def = parseDomainXML(live);
    assert.equal(def.type, 'test');
    assert.equal(def.name, 'test');
    assert.equal(def.uuid, '6695eb01-f6a4-8304-79aa-97f2502e193f');
    assert.equal(def.memoryKiB, 8388608);
    assert.equal(def.currentMemoryKiB, 2097152);
    assert.equal(def.vcpus, 2);
    assert.equal(def.osType, 'hvm');
    assert.equal(def.arch, 'i686');
    assert.equal(def.disks.length, 1);
    const [disk] = def.disks;
    assert.deepEqual(
      disk && [disk.type, disk.device, disk.target, disk.bus, disk.sourcePath, disk.format, disk.readonly, disk.snapshot],
      ['file', 'disk', 'vda', 'virtio', '/guest/diskimage1', undefined, false, undefined],
    );
  });
  it('writes changed typed fields back and the result still validates', () => {
    const def = cloneDomainDef(parseDomainXML(live));
    const disk = def.disks[0];
    assert.ok(disk);
    disk.sourcePath = '/guest/diskimage1.s1';
    disk.format = 'qcow2';
    def.name = 'renamed & <odd>';
    const out = formatDomainXML(def);
    assert.match(out, /<name>renamed &amp; &lt;odd&gt;<\/name>/);
    assert.match(out, /<disk type='file' device='disk'>\n {6}<driver name='qemu' type='qcow2'\/>\n {6}<source file='\/guest\/diskimage1.s1'\/>\n {6}<target dev='vda' bus='virtio'\/>/);
    const result = xmllintValidates(out, 'domain');
    assert.ok(result.ok, result.output);
    // The clone is independent of the original.
    assert.equal(parseDomainXML(live).disks[0]?.sourcePath, '/guest/diskimage1');
    assert.equal(formatDomainXML(parseDomainXML(live), { id: 1 }), live);
  });
  it('switches a disk between file and block sources', () => {
    const def = parseDomainXML(live);
    const disk = def.disks[0];
    assert.ok(disk);
    disk.type = 'block';
    disk.sourcePath = '/dev/vg/lv';
    const out = formatDomainXML(def);
    assert.match(out, /<disk type='block' device='disk'>\n {6}<source dev='\/dev\/vg\/lv'\/>/);
    assert.equal(parseDomainXML(out).disks[0]?.sourcePath, '/dev/vg/lv');
  });
});

describe('domain XML parsing rules', () => {
  it('generates a uuid when absent and keeps it across formatting', () => {
    const def = parseDomainXML(`${MINIMAL}</domain>`);
    assert.match(def.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const out = formatDomainXML(def);
    assert.match(out, new RegExp(`<name>m</name>\\n  <uuid>${def.uuid}</uuid>`));
    assert.equal(parseDomainXML(out).uuid, def.uuid);
    assert.notEqual(parseDomainXML(`${MINIMAL}</domain>`).uuid, def.uuid);
  });
  it('canonicalises a uuid as libvirt does', () => {
    const def = parseDomainXML(`${MINIMAL.replace('</name>', '</name><uuid> 6695EB01F6A4-8304-79aa-97f2502e193E </uuid>')}</domain>`);
    assert.equal(def.uuid, '6695eb01-f6a4-8304-79aa-97f2502e193e');
  });
  it('keeps unknown elements and foreign namespaces verbatim', () => {
    const xml = [
      "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>",
      '  <name>n</name>',
      '  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>',
      '  <metadata>',
      // <metadata> content is printed by libxml2 in libvirt: double quotes.
      '    <app1:foo xmlns:app1="http://app1.org/app1/">fooish</app1:foo>',
      '  </metadata>',
      "  <memory unit='KiB'>1024</memory>",
      '  <os>',
      '    <type>hvm</type>',
      '  </os>',
      '  <devices>',
      '    <emulator>/usr/bin/qemu-system-x86_64</emulator>',
      "    <disk type='file' device='cdrom'>",
      "      <target dev='hdc' bus='ide'/>",
      '      <readonly/>',
      '    </disk>',
      "    <disk type='network' device='disk' snapshot='external'>",
      "      <source protocol='nbd' name='vol'>",
      "        <host name='h' port='10809'/>",
      '      </source>',
      "      <target dev='vdb' bus='virtio'/>",
      '    </disk>',
      "    <futuredevice flavour='x'/>",
      '  </devices>',
      '  <qemu:commandline>',
      "    <qemu:arg value='-newarg'/>",
      '  </qemu:commandline>',
      '</domain>',
      '',
    ].join('\n');
    const def = parseDomainXML(xml);
    assert.equal(formatDomainXML(def), xml);
    assert.deepEqual(def.disks.map((d) => [d.target, d.device, d.readonly, d.sourcePath, d.snapshot]), [
      ['hdc', 'cdrom', true, undefined, undefined],
      ['vdb', 'disk', false, undefined, 'external'],
    ]);
  });
  it('prints a disk\'s defaulted type and device first, as libvirt does', () => {
    const def = parseDomainXML(`${MINIMAL}<devices><disk snapshot='no'><source file='/a.img'/><target dev='vda'/></disk></devices></domain>`);
    assert.match(formatDomainXML(def), /<disk type='file' device='disk' snapshot='no'>/);
  });
  it('converts memory units to KiB, rounding up', () => {
    const def = parseDomainXML("<domain type='qemu'><name>m</name><memory unit='MiB'>2</memory><currentMemory unit='b'>1025</currentMemory><os><type>hvm</type></os></domain>");
    assert.equal(def.memoryKiB, 2048);
    assert.equal(def.currentMemoryKiB, 2);
  });
});

interface DomainErrorCase { label: string; xml: string; code: number; message: string }
const DOMAIN_ERRORS: DomainErrorCase[] = [
  { label: 'wrong root', xml: '<domainsnapshot/>', code: VirErrorCode.XML_ERROR, message: "XML error: expecting root element of 'domain', not 'domainsnapshot'" },
  { label: 'no type', xml: '<domain><name>x</name></domain>', code: VirErrorCode.INTERNAL_ERROR, message: 'internal error: missing domain type attribute' },
  { label: 'unknown type', xml: "<domain type='bogus'><name>x</name></domain>", code: VirErrorCode.CONFIG_UNSUPPORTED, message: 'unsupported configuration: invalid domain type bogus' },
  { label: 'no name', xml: "<domain type='test'></domain>", code: 21, message: 'missing name information' },
  { label: 'slash in name', xml: "<domain type='test'><name>a/b</name><memory>1024</memory><os><type>hvm</type></os></domain>", code: VirErrorCode.XML_ERROR, message: "XML error: name a/b cannot contain '/'" },
  { label: 'bad uuid', xml: "<domain type='test'><name>x</name><uuid>zz</uuid></domain>", code: VirErrorCode.INTERNAL_ERROR, message: 'internal error: malformed uuid element' },
  { label: 'no os type', xml: "<domain type='test'><name>x</name><memory>1024</memory></domain>", code: VirErrorCode.XML_ERROR, message: 'XML error: an os <type> must be specified' },
  { label: 'no memory', xml: "<domain type='test'><name>x</name><os><type>hvm</type></os></domain>", code: VirErrorCode.XML_ERROR, message: 'XML error: Memory size must be specified via <memory> or in the <numa> configuration' },
  { label: 'bad memory', xml: "<domain type='test'><name>x</name><memory>abc</memory><os><type>hvm</type></os></domain>", code: VirErrorCode.XML_ERROR, message: "XML error: Invalid value 'abc' for element or attribute './memory[1]'" },
  { label: 'bad memory unit', xml: "<domain type='test'><name>x</name><memory unit='zz'>1</memory><os><type>hvm</type></os></domain>", code: VirErrorCode.INVALID_ARG, message: "invalid argument: unknown suffix 'zz'" },
  { label: 'bad vcpu', xml: "<domain type='test'><name>x</name><memory>1024</memory><vcpu>x</vcpu><os><type>hvm</type></os></domain>", code: VirErrorCode.XML_ERROR, message: 'XML error: maximum vcpus count must be an integer' },
  { label: 'bad disk type', xml: `${MINIMAL.replace("'qemu'", "'test'")}<devices><disk type='bogus'><source file='/a'/><target dev='vda'/></disk></devices></domain>`, code: VirErrorCode.XML_ERROR, message: "XML error: Invalid value for attribute 'type' in element 'disk': 'bogus'." },
  { label: 'bad disk device', xml: `${MINIMAL.replace("'qemu'", "'test'")}<devices><disk device='bogus'><source file='/a'/><target dev='vda'/></disk></devices></domain>`, code: VirErrorCode.XML_ERROR, message: "XML error: Invalid value for attribute 'device' in element 'disk': 'bogus'." },
  { label: 'bad disk snapshot mode', xml: `${MINIMAL.replace("'qemu'", "'test'")}<devices><disk snapshot='bogus'><source file='/a'/><target dev='vda'/></disk></devices></domain>`, code: VirErrorCode.XML_ERROR, message: "XML error: Invalid value for attribute 'snapshot' in element 'disk': 'bogus'." },
  { label: 'disk without target', xml: `${MINIMAL.replace("'qemu'", "'test'")}<devices><disk><source file='/a'/></disk></devices></domain>`, code: 20, message: 'missing target information for device /a' },
  { label: 'network disk without target', xml: `${MINIMAL.replace("'qemu'", "'test'")}<devices><disk type='network'><source protocol='nbd' name='x'><host name='h'/></source></disk></devices></domain>`, code: 20, message: 'missing target information for device x' },
];

describe('domain XML errors match virsh define', () => {
  for (const c of DOMAIN_ERRORS) {
    it(c.label, () => {
      let caught: unknown;
      try {
        parseDomainXML(c.xml);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof VirError, `expected a VirError, got ${String(caught)}`);
      assert.equal(caught.message, c.message);
      assert.equal(caught.code, c.code);
      const result = virsh(`define ${scratchFile(c.xml)}`);
      assert.equal(result.status, 1);
      assert.equal(virshErrorMessage(result.stderr), c.message);
    });
  }
  it('reports malformed domain XML as (domain_definition) in VIR_FROM_DOMAIN', () => {
    assert.throws(() => parseDomainXML('<domain>'), (err: unknown) =>
      err instanceof VirError && err.code === VirErrorCode.XML_DETAIL && err.domain === VirErrorDomain.DOMAIN &&
      err.message.startsWith('(domain_definition):1: '));
  });
});
