/**
 * The device families against the command line libvirt 9.0 generates for the same
 * elements (measured with `virsh domxml-to-native qemu-argv` on a private libvirtd, QEMU
 * 7.2): ids, drivers and properties; plus what only the monitor gets (a VNC password).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDomainXML } from '../../../../../src/conf/domain-xml.js';
import { buildQemuCommandLine, type QemuCommandLine } from '../../../../../src/drivers/qemu/domain/qemu-command-line.js';

const OPTS = { accel: 'tcg' as const, qmpSocketPath: '/run/x/qmp.sock', pidfilePath: '/run/x/qemu.pid', guestAgentSocketPath: '/run/x/qga.sock' };

function build(devices: string, opts: { machine?: string; top?: string; os?: string; accel?: 'tcg' | 'kvm' } = {}): QemuCommandLine {
  const xml = `<domain type='qemu'><name>d</name><memory unit='KiB'>262144</memory><vcpu>2</vcpu>
    <os><type arch='x86_64' machine='${opts.machine ?? 'q35'}'>hvm</type>${opts.os ?? ''}</os>${opts.top ?? ''}
    <devices>${devices}</devices></domain>`;
  return buildQemuCommandLine(parseDomainXML(xml), { ...OPTS, accel: opts.accel ?? 'tcg' });
}

/** The values following each occurrence of `flag`. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

/** The JSON -netdev/-object values, and the key=value -device values of the device families, parsed (numbers and on as such). */
function jsonValues(args: string[], flag: string): Record<string, unknown>[] {
  if (flag !== '-device') return values(args, flag).map((v) => JSON.parse(v) as Record<string, unknown>);
  return values(args, flag).filter((v) => !/^(virtio-serial-pci|virtio-scsi-pci|ahci|virtio-blk-pci),id=|^virtio-blk-pci,|^virtserialport,/.test(v)).map((v) => {
    const [driver, ...rest] = v.split(',');
    const props: Record<string, unknown> = { driver };
    for (const kv of rest) {
      const [k, val] = kv.split('=') as [string, string];
      props[k] = val === 'on' ? true : /^[0-9]+$/.test(val) ? Number(val) : val;
    }
    return props;
  });
}

test('user-mode NICs: -netdev user hostnetN and the model as netN with its MAC (rtl8139 by default, as libvirt 9.0)', () => {
  const { args } = build(`<interface type='user'><mac address='52:54:00:11:22:33'/><model type='virtio'/></interface>
    <interface type='user'><mac address='52:54:00:11:22:34'/></interface>`);
  assert.deepEqual(jsonValues(args, '-netdev'), [{ type: 'user', id: 'hostnet0' }, { type: 'user', id: 'hostnet1' }]);
  assert.deepEqual(jsonValues(args, '-device'), [
    { driver: 'virtio-net-pci', netdev: 'hostnet0', id: 'net0', mac: '52:54:00:11:22:33' },
    { driver: 'rtl8139', netdev: 'hostnet1', id: 'net1', mac: '52:54:00:11:22:34' },
  ]);
});

test('serial pty and unix (bind) on isa-serial ports; a serial console is that port, not a second device', () => {
  const { args } = build(`<serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <serial type='unix'><source mode='bind' path='/tmp/a,b.sock'/><target port='1'/></serial>`);
  assert.deepEqual(values(args, '-chardev').slice(1), ['pty,id=charserial0', 'socket,id=charserial1,path=/tmp/a,,b.sock,server=on,wait=off']);
  assert.deepEqual(jsonValues(args, '-device'), [
    { driver: 'isa-serial', chardev: 'charserial0', id: 'serial0', index: 0 },
    { driver: 'isa-serial', chardev: 'charserial1', id: 'serial1', index: 1 },
  ]);
});

test('a console without a serial gets its own port; a virtio console is a virtconsole on virtio-serial0', () => {
  assert.deepEqual(jsonValues(build("<console type='pty'/>").args, '-device'),
    [{ driver: 'isa-serial', chardev: 'charserial0', id: 'serial0', index: 0 }]);
  const { args } = build("<console type='pty'><target type='virtio'/></console>");
  assert.ok(values(args, '-device').includes('virtio-serial-pci,id=virtio-serial0'));
  assert.deepEqual(jsonValues(args, '-device'), [{ driver: 'virtconsole', chardev: 'charconsole0', id: 'console0' }]);
});

test('VNC: listen address and fixed port as a display number; autoport from 5900 up; the password only over QMP', () => {
  const fixed = build("<graphics type='vnc' port='5905' autoport='no'><listen type='address' address='0.0.0.0'/></graphics>");
  assert.deepEqual(values(fixed.args, '-vnc'), ['0.0.0.0:5']);
  assert.ok(!fixed.args.includes('-display'), 'a domain with graphics has no -display none');
  const auto = build("<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='s3cret'/>");
  assert.deepEqual(values(auto.args, '-vnc'), ['127.0.0.1:0,to=59635,password=on']);
  assert.ok(!auto.args.some((a) => a.includes('s3cret')), 'the password is not on the command line');
  assert.deepEqual(auto.monitorSetup, [{ execute: 'set_password', arguments: { protocol: 'vnc', password: 's3cret' } }]);
  assert.deepEqual(values(build("<graphics type='vnc'><listen type='none'/></graphics>").args, '-vnc'), ['none']);
});

test('video, input, rng, memballoon, watchdog and USB controller as libvirt names them', () => {
  const { args } = build(`<controller type='usb' model='qemu-xhci' ports='15'/>
    <input type='tablet' bus='usb'/><input type='keyboard' bus='usb'/><input type='mouse' bus='ps2'/>
    <video><model type='virtio' heads='1' primary='yes'/></video>
    <watchdog model='i6300esb' action='poweroff'/>
    <memballoon model='virtio' autodeflate='on'/>
    <rng model='virtio'><rate bytes='1234' period='2000'/><backend model='random'>/dev/urandom</backend></rng>`);
  assert.deepEqual(jsonValues(args, '-device'), [
    { driver: 'qemu-xhci', id: 'usb', p2: 15, p3: 15 },
    { driver: 'usb-tablet', id: 'input0', bus: 'usb.0' },
    { driver: 'usb-kbd', id: 'input1', bus: 'usb.0' },
    { driver: 'virtio-vga', id: 'video0', max_outputs: 1 },
    { driver: 'i6300esb', id: 'watchdog0' },
    { driver: 'virtio-balloon-pci', id: 'balloon0', 'deflate-on-oom': true },
    { driver: 'virtio-rng-pci', rng: 'objrng0', id: 'rng0', 'max-bytes': 1234, period: 2000 },
  ]);
  assert.deepEqual(values(args, '-watchdog-action'), ['poweroff']);
  assert.deepEqual(jsonValues(args, '-object'), [{ 'qom-type': 'rng-random', id: 'objrng0', filename: '/dev/urandom' }]);
});

test('a USB device without a declared controller gets the machine default one (piix3-uhci on pc, qemu-xhci on q35)', () => {
  assert.deepEqual(jsonValues(build("<input type='tablet' bus='usb'/>", { machine: 'pc' }).args, '-device')[0],
    { driver: 'piix3-usb-uhci', id: 'usb' });
  assert.deepEqual(jsonValues(build("<input type='tablet' bus='usb'/>").args, '-device')[0], { driver: 'qemu-xhci', id: 'usb' });
  assert.deepEqual(jsonValues(build("<controller type='usb' model='none'/>").args, '-device'), []);
});

test('qxl, vga and none video; PCI addresses on root ports become bus pci.N and addr', () => {
  assert.deepEqual(jsonValues(build("<video><model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1'/></video>").args, '-device'),
    [{ driver: 'qxl-vga', id: 'video0', max_outputs: 1, ram_size: 67108864, vram_size: 67108864, vgamem_mb: 16 }]);
  assert.deepEqual(jsonValues(build("<video><model type='none'/></video>").args, '-device'), []);
  const { args } = build(`<controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'><target chassis='1' port='0x10'/><address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' multifunction='on'/></controller>
    <interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/><address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></interface>`);
  assert.deepEqual(jsonValues(args, '-device'), [
    { driver: 'pcie-root-port', port: 16, chassis: 1, id: 'pci.1', bus: 'pcie.0', addr: '0x2', multifunction: true },
    { driver: 'virtio-net-pci', netdev: 'hostnet0', id: 'net0', mac: '52:54:00:00:00:01', bus: 'pci.1', addr: '0x0' },
  ]);
});

test('features, clock, pm and lifecycle as libvirt: no <acpi/> is ACPI off; virt-install timers; S3/S4 off; on_reboot destroy', () => {
  assert.deepEqual(values(build('').args, '-machine'), ['q35,accel=tcg,acpi=off']);
  const { args } = build('', {
    top: `<features><acpi/><apic/><vmport state='off'/></features><clock offset='utc'><timer name='rtc' tickpolicy='catchup'/>
      <timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/></clock><on_reboot>destroy</on_reboot>
      <pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>`,
  });
  assert.deepEqual(values(args, '-machine'), ['q35,accel=tcg,vmport=off,hpet=off']);
  assert.deepEqual(values(args, '-rtc'), ['base=utc,driftfix=slew']);
  assert.deepEqual(values(args, '-global'), ['kvm-pit.lost_tick_policy=delay', 'ICH9-LPC.disable_s3=1', 'ICH9-LPC.disable_s4=1']);
  assert.ok(args.includes('-no-reboot'));
});

test('cpu: custom model with features and topology; host-model is max under TCG, host under KVM; host-passthrough is host under KVM', () => {
  const custom = build('', { top: "<cpu mode='custom' match='exact'><model fallback='allow'>Skylake-Client</model><feature policy='disable' name='rdseed'/><topology sockets='1' cores='2' threads='1'/></cpu>" });
  assert.deepEqual(values(custom.args, '-cpu'), ['Skylake-Client,rdseed=off']);
  assert.deepEqual(values(custom.args, '-smp'), ['2,sockets=1,cores=2,threads=1']);
  assert.deepEqual(values(build('', { top: "<cpu mode='host-model'/>" }).args, '-cpu'), ['max']);
  assert.deepEqual(values(build('', { top: "<cpu mode='host-model'/>", accel: 'kvm' }).args, '-cpu'), ['host']);
  assert.deepEqual(values(build('', { top: "<cpu mode='host-passthrough'/>", accel: 'kvm' }).args, '-cpu'), ['host']);
  assert.deepEqual(values(build('').args, '-cpu'), [], 'no <cpu>: QEMU default qemu64, as libvirt passes');
});

test('boot order: <os><boot dev> numbers the first disk, CD-ROM and NIC; per-device <boot order> is taken as is', () => {
  const disk = "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/a.qcow2'/><target dev='vda' bus='virtio'/>";
  const { args } = build(`${disk}</disk><interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>`,
    { os: "<boot dev='network'/><boot dev='hd'/><bootmenu enable='yes'/>" });
  assert.deepEqual(values(args, '-boot'), ['menu=on,strict=on']);
  assert.ok(values(args, '-device').includes('virtio-blk-pci,drive=drive-vda-fmt,id=disk-vda,bootindex=2'));
  assert.equal(jsonValues(args, '-device')[0]!.bootindex, 1);
  const per = build(`${disk}<boot order='3'/></disk>`).args;
  assert.ok(values(per, '-device').includes('virtio-blk-pci,drive=drive-vda-fmt,id=disk-vda,bootindex=3'));
});

test('the emulator of the definition is the binary', () => {
  assert.equal(build('<emulator>/opt/q/qemu-system-x86_64</emulator>').binary, '/opt/q/qemu-system-x86_64');
  assert.equal(build('').binary, 'qemu-system-x86_64');
});
