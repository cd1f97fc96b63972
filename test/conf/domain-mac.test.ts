import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignInterfaceMacs } from '../../src/conf/domain-mac.js';
import { formatDomainXML, parseDomainXML } from '../../src/conf/domain-xml.js';
import { VirErrorCode } from '../../src/api/errors.js';

const domain = (ifaces: string): string =>
  `<domain type='qemu'><name>m</name><memory>1024</memory><os><type>hvm</type></os><devices>${ifaces}</devices></domain>`;

test('a missing MAC is generated with libvirt prefix 52:54:00 and kept in the definition; a given one is lower-cased', () => {
  const def = parseDomainXML(domain("<interface type='user'/><interface type='user'><mac address='52:54:00:AB:cd:1'/></interface>"));
  assignInterfaceMacs(def);
  const xml = formatDomainXML(def);
  const macs = [...xml.matchAll(/<mac address='([^']+)'\/>/g)].map((m) => m[1]!);
  assert.equal(macs.length, 2);
  assert.match(macs[0]!, /^52:54:00(:[0-9a-f]{2}){3}$/);
  assert.equal(macs[1], '52:54:00:ab:cd:01');
  // Kept: formatting and assigning again changes nothing.
  const again = parseDomainXML(xml);
  assignInterfaceMacs(again);
  assert.equal(formatDomainXML(again), xml);
});

test('a malformed or multicast MAC is refused with libvirt XML errors', () => {
  for (const [mac, message] of [
    ['zz:54:00:00:00:01', "XML error: unable to parse mac address 'zz:54:00:00:00:01'"],
    ['01:00:00:00:00:01', "XML error: expected unicast mac address, found multicast '01:00:00:00:00:01'"],
  ] as const) {
    const def = parseDomainXML(domain(`<interface type='user'><mac address='${mac}'/></interface>`));
    assert.throws(() => assignInterfaceMacs(def), (e: unknown) => (e as { code: number; message: string }).code === VirErrorCode.XML_ERROR
      && (e as Error).message === message);
  }
});
