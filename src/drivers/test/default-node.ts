/**
 * The node libvirt's test driver serves at test:///default: one running, persistent domain
 * `test`. The XML is the domain exactly as `virsh -c test:///default dumpxml test` prints it
 * (libvirt's parse defaults already applied), minus the runtime id.
 */
import { domainDefFromElement } from '../../conf/domain-xml.js';
import type { DomainDef } from '../../conf/domain-types.js';
import { makeElement as el, type XmlElement } from '../../conf/xml-tree.js';

/** The default domain's UUID. */
export const DEFAULT_DOMAIN_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';

/** The default domain's definition. */
export const DEFAULT_DOMAIN_XML = `<domain type='test'>
  <name>test</name>
  <uuid>${DEFAULT_DOMAIN_UUID}</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
`;

/**
 * DEFAULT_DOMAIN_XML as the tree the XML parser makes of it, written out so that opening
 * test:///default needs no XML parser (loading libxml2-wasm would double the start-up of
 * `snapvirt -c test:///default list`). A test checks it equals the parsed XML.
 */
export function defaultDomainElement(): XmlElement {
  const pci = (bus: string, slot: string): XmlElement => el('address', [
    ['type', 'pci'], ['domain', '0x0000'], ['bus', bus], ['slot', slot], ['function', '0x0'],
  ]);
  return el('domain', [['type', 'test']], [
    el('name', [], ['test']),
    el('uuid', [], [DEFAULT_DOMAIN_UUID]),
    el('memory', [['unit', 'KiB']], ['8388608']),
    el('currentMemory', [['unit', 'KiB']], ['2097152']),
    el('vcpu', [['placement', 'static']], ['2']),
    el('os', [], [el('type', [['arch', 'i686']], ['hvm']), el('boot', [['dev', 'hd']])]),
    el('clock', [['offset', 'utc']]),
    el('on_poweroff', [], ['destroy']),
    el('on_reboot', [], ['restart']),
    el('on_crash', [], ['destroy']),
    el('devices', [], [
      el('disk', [['type', 'file'], ['device', 'disk']], [
        el('source', [['file', '/guest/diskimage1']]),
        el('target', [['dev', 'vda'], ['bus', 'virtio']]),
        pci('0x01', '0x00'),
      ]),
      el('interface', [['type', 'network']], [
        el('mac', [['address', 'aa:bb:cc:dd:ee:ff']]),
        el('source', [['network', 'default']]),
        el('target', [['dev', 'testnet0']]),
        pci('0x00', '0x01'),
      ]),
      el('memballoon', [['model', 'virtio']], [pci('0x00', '0x02')]),
    ]),
  ]);
}

/** The default domain's definition, built without the XML parser. */
export function defaultDomainDef(): DomainDef {
  return domainDefFromElement(defaultDomainElement());
}
