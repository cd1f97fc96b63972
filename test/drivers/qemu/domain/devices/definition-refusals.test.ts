/**
 * Nothing is silently dropped: each element the QEMU driver does not honour is refused
 * with VIR_ERR_CONFIG_UNSUPPORTED (or libvirt's own code where libvirt has one) and a
 * message naming it; libvirt's own wordings where libvirt refuses the same thing
 * (measured on libvirtd 9.0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDomainXML } from '../../../../../src/conf/domain-xml.js';
import { buildQemuCommandLine } from '../../../../../src/drivers/qemu/domain/qemu-command-line.js';
import { VirError, VirErrorCode } from '../../../../../src/api/errors.js';

const OPTS = { accel: 'tcg' as const, qmpSocketPath: '/run/x/qmp.sock', pidfilePath: '/run/x/qemu.pid' };

function refusal(devices: string, top = '', os = ''): VirError {
  const def = parseDomainXML(`<domain type='qemu'><name>d</name><memory>262144</memory><vcpu>2</vcpu>
    <os><type arch='x86_64' machine='q35'>hvm</type>${os}</os>${top}<devices>${devices}</devices></domain>`);
  try {
    buildQemuCommandLine(def, { ...OPTS, caps: { devices: new Set(['virtio-net-pci', 'VGA']), cpuModels: new Set(['qemu64']) } });
  } catch (err) {
    if (err instanceof VirError) return err;
    throw err;
  }
  assert.fail('not refused');
}

const CASES: Array<[string, string, string, string?, number?]> = [
  // [what, devices, message, top-level, code]
  ['a libvirt network', "<interface type='network'><source network='default'/></interface>",
    "unsupported configuration: <interface type='network'> (network 'default') is not supported by snapvirt: it manages no virtual networks; use <interface type='user'>"],
  ['a direct (macvtap) interface', "<interface type='direct'><source dev='eth0' mode='bridge'/></interface>",
    "unsupported configuration: <interface type='direct'> is not supported by snapvirt: only user, bridge and ethernet interfaces are"],
  ['a bridge without its name', "<interface type='bridge'/>", "XML error: No <source> 'bridge' attribute specified with <interface type='bridge'/>", '', VirErrorCode.XML_ERROR],
  ['an interface MTU', "<interface type='bridge'><source bridge='br0'/><mtu size='1450'/></interface>",
    "unsupported configuration: <mtu> in <interface type='bridge'> is not supported by snapvirt"],
  ['a NIC model this QEMU lacks', "<interface type='user'><model type='e1000'/></interface>",
    "unsupported configuration: network interface model 'e1000' is not supported by this QEMU binary"],
  ['an interface filter', "<interface type='user'><filterref filter='clean-traffic'/></interface>",
    "unsupported configuration: <filterref> in <interface type='user'> is not supported by snapvirt"],
  ['sound', "<sound model='ich9'/>", "unsupported configuration: <sound model='ich9'> is not supported by snapvirt"],
  ['an audio backend', "<audio id='1' type='pulseaudio'/>", "unsupported configuration: <audio type='pulseaudio'> is not supported by snapvirt"],
  ['an option of the silent audio backend', "<audio id='1' type='none' timerPeriod='100'/>",
    "unsupported configuration: attribute 'timerPeriod' of <audio type='none'> is not supported by snapvirt"],
  ['spice', "<graphics type='spice'/>", "unsupported configuration: <graphics type='spice'> is not supported by snapvirt"],
  ['a video model this QEMU lacks', "<video><model type='qxl'/></video>", "unsupported configuration: this QEMU does not support 'qxl' video device"],
  ['a host device', "<hostdev mode='subsystem' type='pci'/>", "unsupported configuration: <hostdev type='pci'> is not supported by snapvirt"],
  ['a USB input with USB off', "<controller type='usb' model='none'/><input type='tablet' bus='usb'/>",
    "unsupported configuration: Can't add USB input device. USB bus is disabled"],
  ['itco on a non-q35 would be refused; an unknown watchdog', "<watchdog model='diag288'/>", "unsupported configuration: unknown watchdog model 'diag288'"],
  ['an egd rng backend', "<rng model='virtio'><backend model='egd' type='tcp'/></rng>",
    "unsupported configuration: <backend type='tcp' model='egd'> in <rng model='virtio'> is not supported by snapvirt"],
  ['a unix serial without a path', "<serial type='unix'><target port='0'/></serial>", 'internal error: Missing source path attribute for char device', '', VirErrorCode.INTERNAL_ERROR],
  ['a spicevmc channel', "<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>",
    "unsupported configuration: <channel type='spicevmc'> is not supported by snapvirt"],
  ['host-passthrough under TCG', '', "unsupported configuration: CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 host is not supported by hypervisor",
    "<cpu mode='host-passthrough'/>"],
  ['an unknown CPU model', '', 'internal error: Unknown CPU model nonexist', "<cpu mode='custom'><model>nonexist</model></cpu>", VirErrorCode.INTERNAL_ERROR],
  ['a topology that does not match', '', "unsupported configuration: CPU topology doesn't match maximum vcpu count",
    "<cpu><topology sockets='1' cores='3' threads='1'/></cpu>"],
  ['hyperv enlightenments', '', 'unsupported configuration: <features><hyperv> is not supported by snapvirt', "<features><acpi/><hyperv mode='custom'/></features>"],
  ['sysinfo', '', "unsupported configuration: <sysinfo type='smbios'> is not supported by snapvirt", "<sysinfo type='smbios'/>"],
  ['cputune', '', 'unsupported configuration: <cputune> is not supported by snapvirt', '<cputune><shares>1024</shares></cputune>'],
  ['on_poweroff restart', '', 'unsupported configuration: <on_poweroff>restart</on_poweroff> is not supported by snapvirt', '<on_poweroff>restart</on_poweroff>'],
  ['a kvmclock timer', '', "unsupported configuration: <timer name='kvmclock' present='no'> is not supported by snapvirt",
    "<clock offset='utc'><timer name='kvmclock' present='no'/></clock>"],
];

for (const [what, devices, message, top, code] of CASES) {
  test(`refused: ${what}`, () => {
    const err = refusal(devices, top ?? '');
    assert.equal(err.message, message);
    assert.equal(err.code, code ?? VirErrorCode.CONFIG_UNSUPPORTED);
  });
}

test('refused: Secure Boot and a writable pflash loader in <os>, and os/boot together with per-device boot (libvirt message)', () => {
  assert.equal(refusal('', '', "<loader readonly='yes' type='pflash' secure='yes'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>").message,
    "unsupported configuration: <loader secure='yes'> (Secure Boot needs SMM and a secure-boot firmware build) is not supported by snapvirt");
  assert.equal(refusal('', '', "<loader type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>").message,
    "unsupported configuration: a writable pflash <loader> (without readonly='yes') is not supported by snapvirt");
  assert.equal(refusal("<interface type='user'><boot order='1'/></interface>", '', "<boot dev='hd'/>").message,
    'unsupported configuration: per-device boot elements cannot be used together with os/boot elements');
});

test('a tap interface when this process may not create taps: libvirt\'s error at start; an existing tap (managed=no) is opened as is', () => {
  const def = parseDomainXML(`<domain type='qemu'><name>d</name><memory>262144</memory><os><type>hvm</type></os><devices>
    <interface type='bridge'><source bridge='br0'/><target dev='vnet7'/></interface>
    <interface type='ethernet'><target dev='mytap' managed='no'/></interface></devices></domain>`);
  assert.throws(() => buildQemuCommandLine(def, { ...OPTS, canCreateTaps: false }),
    (e: unknown) => e instanceof VirError && e.code === VirErrorCode.SYSTEM_ERROR && e.message === 'Unable to create tap device vnet%d: Operation not permitted');
  const built = buildQemuCommandLine(def, { ...OPTS, canCreateTaps: true });
  assert.deepEqual(built.args.flatMap((a, i) => (a === '-netdev' ? [JSON.parse(built.args[i + 1]!) as unknown] : [])), [
    { type: 'tap', id: 'hostnet0', ifname: 'vnet%d', script: 'no', downscript: 'no' },
    { type: 'tap', id: 'hostnet1', ifname: 'mytap', script: 'no', downscript: 'no' },
  ]);
  assert.deepEqual(built.taps, [{ netdev: 'hostnet0', bridge: 'br0' }], 'only the managed tap is set up on the host');
});

test('<audio type=\'none\'>, which libvirt 9.0 writes into every QEMU domain, is honoured: no audio, nothing on the command line', () => {
  const def = parseDomainXML(`<domain type='qemu'><name>d</name><memory>262144</memory><vcpu>1</vcpu>
    <os><type arch='x86_64' machine='q35'>hvm</type></os><devices><audio id='1' type='none'/></devices></domain>`);
  const { args: argv } = buildQemuCommandLine(def, { ...OPTS, caps: { devices: new Set(['VGA']), cpuModels: new Set(['qemu64']) } });
  assert.ok(!argv.some((a) => /audio|sound/.test(a)), argv.join(' '));
});
