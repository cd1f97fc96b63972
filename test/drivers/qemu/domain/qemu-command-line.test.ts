import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildQemuCommandLine } from '../../../../src/drivers/qemu/domain/qemu-command-line.js';
import { diskIndexFromTarget, diskNodeNames, overlayGenerationOf, targetFromQdev } from '../../../../src/drivers/qemu/qmp/disk-node-names.js';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { diskDef, domainDef } from '../support/active-test-support.js';

const OPTS = { accel: 'tcg' as const, qmpSocketPath: '/run/x/qmp.sock', pidfilePath: '/run/x/qemu.pid' };

/** The value following each occurrence of `flag`. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

test('machine, memory, vcpus, monitor, pidfile and no defaults', () => {
  const { binary, args } = buildQemuCommandLine(domainDef([], { memoryKiB: 131072, vcpus: 2, machine: 'pc' }), OPTS);
  assert.equal(binary, 'qemu-system-x86_64');
  assert.deepEqual(values(args, '-machine'), ['pc,accel=tcg,acpi=off'], 'no <features><acpi/>: ACPI off, as libvirt');
  assert.deepEqual(values(args, '-m'), ['size=131072k']);
  assert.deepEqual(values(args, '-smp'), ['2']);
  assert.deepEqual(values(args, '-pidfile'), ['/run/x/qemu.pid']);
  assert.deepEqual(values(args, '-chardev'), ['socket,id=charmonitor,path=/run/x/qmp.sock,server=on,wait=off']);
  assert.deepEqual(values(args, '-mon'), ['chardev=charmonitor,id=monitor,mode=control']);
  assert.ok(args.includes('-nodefaults'));
  assert.deepEqual(values(args, '-display'), ['none']);
  assert.ok(!args.includes('-S'));
  assert.ok(!args.includes('-daemonize'));
});

test('a second QMP monitor on events.sock, for the one resident listener (snapvirtd), when a path is given', () => {
  const { args } = buildQemuCommandLine(domainDef([]), { ...OPTS, eventsSocketPath: '/run/x,y/events.sock' });
  assert.deepEqual(values(args, '-chardev'), [
    'socket,id=charmonitor,path=/run/x/qmp.sock,server=on,wait=off',
    'socket,id=charevents,path=/run/x,,y/events.sock,server=on,wait=off',
  ]);
  assert.deepEqual(values(args, '-mon'), ['chardev=charmonitor,id=monitor,mode=control', 'chardev=charevents,id=events,mode=control']);
});

test('kvm, paused start, daemonize, and commas escaped in option values', () => {
  const { args } = buildQemuCommandLine(domainDef([], { name: 'a,b' }),
    { ...OPTS, accel: 'kvm', paused: true, daemonize: true, qmpSocketPath: '/run/a,b/q.sock' });
  assert.deepEqual(values(args, '-machine'), ['pc,accel=kvm,acpi=off']);
  assert.ok(args.includes('-S'));
  assert.ok(args.includes('-daemonize'));
  assert.deepEqual(values(args, '-name'), ['guest=a,,b']);
  assert.match(values(args, '-chardev')[0]!, /path=\/run\/a,,b\/q\.sock,/);
});

test('a virtio qcow2 disk gets stable file and format nodes and a device named after its target', () => {
  const { args, disks } = buildQemuCommandLine(domainDef([diskDef('vdb', '/img/b,c.qcow2')]), OPTS);
  const blockdevs = values(args, '-blockdev').map((j) => JSON.parse(j) as Record<string, unknown>);
  assert.deepEqual(blockdevs, [
    { driver: 'file', filename: '/img/b,c.qcow2', 'node-name': 'drive-vdb-file', 'read-only': false },
    { driver: 'qcow2', file: 'drive-vdb-file', 'node-name': 'drive-vdb-fmt', 'read-only': false },
  ]);
  assert.deepEqual(values(args, '-device'), ['virtio-blk-pci,drive=drive-vdb-fmt,id=disk-vdb']);
  assert.deepEqual(disks, [{
    target: 'vdb', deviceId: 'disk-vdb', qdev: '/machine/peripheral/disk-vdb/virtio-backend',
    nodes: { file: 'drive-vdb-file', format: 'drive-vdb-fmt' }, readonly: false,
  }]);
});

test('ide, sata, scsi, read-only raw, block device and empty cdrom', () => {
  const { args, disks } = buildQemuCommandLine(domainDef([
    diskDef('hdb', '/img/h.qcow2', { bus: 'ide' }),
    diskDef('sdc', '/img/s.raw', { bus: 'sata', format: 'raw', readonly: true }),
    diskDef('sda', '/dev/sdz', { bus: 'scsi', type: 'block', format: 'raw' }),
    diskDef('hdc', undefined, { bus: 'ide', device: 'cdrom', format: undefined }),
  ]), OPTS);
  // Controllers first: a device QEMU places must not take a slot a later <address> names.
  assert.deepEqual(values(args, '-device'), [
    'ahci,id=sata0',
    'virtio-scsi-pci,id=scsi0',
    'ide-hd,drive=drive-hdb-fmt,id=disk-hdb,bus=ide.0,unit=1',
    'ide-hd,drive=drive-sdc-fmt,id=disk-sdc,bus=sata0.2',
    'scsi-hd,drive=drive-sda-fmt,id=disk-sda,bus=scsi0.0,channel=0,scsi-id=0,lun=0',
    'ide-cd,id=disk-hdc,bus=ide.1,unit=0',
  ]);
  const blockdevs = values(args, '-blockdev').map((j) => JSON.parse(j) as Record<string, unknown>);
  assert.equal(blockdevs.length, 6, 'the empty CD-ROM has no nodes');
  assert.deepEqual(blockdevs[2], { driver: 'file', filename: '/img/s.raw', 'node-name': 'drive-sdc-file', 'read-only': true });
  assert.deepEqual(blockdevs[3], { driver: 'raw', file: 'drive-sdc-file', 'node-name': 'drive-sdc-fmt', 'read-only': true });
  assert.equal(blockdevs[4]!.driver, 'host_device');
  assert.equal(disks[3]!.nodes, undefined);
  assert.equal(disks[3]!.qdev, '/machine/peripheral/disk-hdc');
  assert.equal(disks[1]!.readonly, true);
});

test('more virtio disks than the root bus holds go behind pci-bridges', () => {
  // vda…vdz, then vdaa…: libvirt's base-26 disk names.
  const name = (i: number): string => (i < 26 ? `vd${String.fromCharCode(97 + i)}` : `vda${String.fromCharCode(97 + i - 26)}`);
  const many = Array.from({ length: 30 }, (_, i) => diskDef(name(i), `/img/${i}.qcow2`));
  const { args } = buildQemuCommandLine(domainDef(many), OPTS);
  const devices = values(args, '-device');
  assert.ok(devices.includes('pci-bridge,id=pci-bridge1,chassis_nr=1,bus=pci.0'));
  assert.ok(devices.some((d) => d.endsWith(',bus=pci-bridge1,addr=1')));
  assert.equal(devices.filter((d) => d.startsWith('virtio-blk-pci')).length, 30);
});

test('unsupported disks are refused with CONFIG_UNSUPPORTED', () => {
  const bad = [
    diskDef('vda', '/img/a', { type: 'network' }),
    diskDef('vda', '/img/a', { bus: 'usb' }),
    diskDef('vda', undefined),
    diskDef('vda', '/img/a', { format: 'weird' }),
    diskDef('fda', '/img/a', { device: 'floppy', bus: 'fdc' }),
  ];
  for (const d of bad) {
    assert.throws(() => buildQemuCommandLine(domainDef([d]), OPTS),
      (e: unknown) => e instanceof VirError && e.code === VirErrorCode.CONFIG_UNSUPPORTED, `${d.type}/${d.bus}/${d.format}`);
  }
});

test('node names, generations, qdev mapping and disk indexes', () => {
  assert.deepEqual(diskNodeNames('vda'), { file: 'drive-vda-file', format: 'drive-vda-fmt' });
  assert.deepEqual(diskNodeNames('vda', 3), { file: 'drive-vda-g3-file', format: 'drive-vda-g3-fmt' });
  assert.equal(overlayGenerationOf('drive-vda-g12-fmt', 'vda'), 12);
  assert.equal(overlayGenerationOf('drive-vda-g12-fmt', 'vdb'), undefined);
  assert.equal(overlayGenerationOf('drive-vda-fmt', 'vda'), undefined);
  assert.equal(targetFromQdev('/machine/peripheral/disk-vdc/virtio-backend'), 'vdc');
  assert.equal(targetFromQdev('/machine/peripheral/disk-sda'), 'sda');
  assert.equal(targetFromQdev('/machine/peripheral-anon/device[0]'), undefined);
  assert.equal(diskIndexFromTarget('vda'), 0);
  assert.equal(diskIndexFromTarget('hdd'), 3);
  assert.equal(diskIndexFromTarget('vdaa'), 26);
  assert.throws(() => diskNodeNames('Vd a'));
});

test('direct kernel boot, guest agent channel, -no-shutdown and -incoming from the domain XML', async () => {
  const { parseDomainXML } = await import('../../../../src/conf/domain-xml.js');
  await (await import('../../../../src/conf/xml-parse.js')).ensureXmlParser();
  const def = parseDomainXML(`<domain type='qemu'><name>g</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu>
    <os><type arch='x86_64' machine='pc'>hvm</type><kernel>/k/vmlinuz</kernel><initrd>/k/initrd.gz</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
    <devices><channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel></devices></domain>`);
  const { args } = buildQemuCommandLine(def, { ...OPTS, guestAgentSocketPath: '/run/x/qga.sock', incoming: true });
  assert.deepEqual(values(args, '-kernel'), ['/k/vmlinuz']);
  assert.deepEqual(values(args, '-initrd'), ['/k/initrd.gz']);
  assert.deepEqual(values(args, '-append'), ['console=ttyS0 quiet']);
  assert.deepEqual(values(args, '-incoming'), ['defer']);
  assert.ok(args.includes('-no-shutdown'));
  assert.deepEqual(values(args, '-chardev'), [
    'socket,id=charmonitor,path=/run/x/qmp.sock,server=on,wait=off',
    'socket,id=charchannel0,path=/run/x/qga.sock,server=on,wait=off',
  ]);
  assert.ok(values(args, '-device').includes('virtserialport,bus=virtio-serial0.0,nr=1,chardev=charchannel0,id=channel0,name=org.qemu.guest_agent.0'));
  // Without the channel in the XML, no agent device even when a socket path is offered.
  const plain = buildQemuCommandLine(domainDef([]), { ...OPTS, guestAgentSocketPath: '/run/x/qga.sock' }).args;
  assert.ok(!plain.some((a) => a.includes('virtserialport')));
  assert.ok(!plain.includes('-kernel') && !plain.includes('-incoming'));
});
