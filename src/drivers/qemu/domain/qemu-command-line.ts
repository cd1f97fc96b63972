/**
 * Builds the qemu-system-x86_64 argument vector for a domain definition. Pure: no I/O,
 * so every flag can be unit-tested. Disks use -blockdev with node names derived from the
 * target (see disk-node-names.ts), which is what lets the live snapshot code and crash
 * recovery address the same nodes by name later.
 */
import type { DomainDef, DomainDiskDef } from '../../../conf/domain-types.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { diskDeviceId, diskIndexFromTarget, diskNodeNames, type DiskNodeNames } from '../qmp/disk-node-names.js';
import type { QemuAccelerator } from './kvm-availability.js';
import { kernelBootOf } from './domain-extras.js';
import { childElement } from '../../../conf/xml-tree.js';
import type { QemuCapabilities } from './qemu-capabilities.js';
import { bootIndexes, diskBootKey } from './devices/boot-order.js';
import { addCharDevices } from './devices/chardev.js';
import { addControllers, addSata, addVirtioScsi } from './devices/controllers.js';
import { addCpu } from './devices/cpu.js';
import { bootOption, emulatorOf, refuseUnhonouredElements } from './devices/definition-coverage.js';
import { pushDevice, type DeviceContext, type MonitorSetupCommand, type TapPlan } from './devices/device-context.js';
import { pciPlacement } from './devices/pci-address.js';
import { addGraphics } from './devices/graphics.js';
import { addInputs } from './devices/input.js';
import { addMemballoon } from './devices/memballoon.js';
import { addInterfaces } from './devices/net.js';
import { addFirmware } from './devices/firmware.js';
import { addPlatform } from './devices/platform.js';
import { escapeOpt } from './devices/qemu-option.js';
import { addRngs } from './devices/rng.js';
import { addTpm } from './devices/tpm.js';
import { addVideo } from './devices/video.js';
import { addWatchdog } from './devices/watchdog.js';

/** The default emulator binary. */
export const QEMU_SYSTEM_BINARY = 'qemu-system-x86_64';

/** Inputs besides the definition. */
export interface QemuCommandLineOptions {
  /** Emulator path; default qemu-system-x86_64. */
  binary?: string;
  accel: QemuAccelerator;
  /** The QMP monitor socket QEMU will listen on. */
  qmpSocketPath: string;
  /**
   * A second QMP monitor, reserved for one resident listener (snapvirtd's domain watch):
   * QEMU broadcasts every event to every monitor, so the listener hears the run state and
   * the block jobs while the commands of every process keep using the first.
   */
  eventsSocketPath?: string;
  /** Where QEMU writes its pid. */
  pidfilePath: string;
  /** Start with vCPUs stopped (-S); `cont` starts them. */
  paused?: boolean;
  /** Let QEMU fork itself into the background (-daemonize). */
  daemonize?: boolean;
  /** Where QEMU listens for the guest agent, when the domain has an agent channel. */
  guestAgentSocketPath?: string;
  /** swtpm's socket, when the domain has an emulated TPM (a placeholder is used while only checking). */
  tpmSocketPath?: string;
  /** Wait for an incoming migration (-incoming defer): a saved memory state is loaded with migrate-incoming. */
  incoming?: boolean;
  /** What the binary offers (device and CPU model names); undefined: not checked. */
  caps?: QemuCapabilities;
  /** Leave the disks out (define's check: disks are checked when QEMU is to open them). */
  skipDisks?: boolean;
  /** Whether QEMU may create tap devices (root); undefined: not checked (define). */
  canCreateTaps?: boolean;
}

/** How one disk of the definition appears on the command line. */
export interface CommandLineDisk {
  target: string;
  /** The -device id. */
  deviceId: string;
  /** The qdev path query-block reports for this disk. */
  qdev: string;
  /** The nodes of the image it starts on; undefined for an empty CD-ROM drive. */
  nodes: DiskNodeNames | undefined;
  readonly: boolean;
}

/** The result: binary, argv (without argv[0]) and the disk layout. */
export interface QemuCommandLine {
  binary: string;
  args: string[];
  disks: CommandLineDisk[];
  /** QMP commands to run once the monitor is ready (a VNC password). */
  monitorSetup: MonitorSetupCommand[];
  /** Taps to bring up (and bridge) once QEMU runs. */
  taps: TapPlan[];
}

const FORMATS = new Set(['raw', 'qcow2', 'qed', 'vmdk', 'vdi', 'vpc', 'vhdx', 'luks']);
const MAX_VIRTIO_ON_ROOT_BUS = 24; // pc has ~29 free slots on pci.0; keep room for controllers
const SLOTS_PER_BRIDGE = 31;

/** Builds the command line; throws VirError(CONFIG_UNSUPPORTED) for anything the driver does not honour. */
export function buildQemuCommandLine(def: DomainDef, opts: QemuCommandLineOptions): QemuCommandLine {
  const machine = def.machine ?? 'pc';
  if (!/^[A-Za-z0-9._-]+$/.test(machine)) unsupported(`machine type '${machine}'`);
  if (!Number.isSafeInteger(def.memoryKiB) || def.memoryKiB <= 0) unsupported(`memory ${def.memoryKiB} KiB`);
  if (!Number.isSafeInteger(def.vcpus) || def.vcpus <= 0) unsupported(`${def.vcpus} vcpus`);
  refuseUnhonouredElements(def);
  const isQ35 = /q35/.test(machine);
  const ctx: DeviceContext = {
    def, isQ35, accel: opts.accel, caps: opts.caps, args: [], created: new Set(), bootIndex: bootIndexes(def), monitorSetup: [],
    placedDevices: [], floatingDevices: [], taps: [], canCreateTaps: opts.canCreateTaps,
  };
  const machineProps = [...addPlatform(ctx), ...addFirmware(ctx)];
  addCpu(ctx);
  const boot = bootOption(def, ctx.bootIndex.size > 0);
  if (boot !== undefined) ctx.args.push('-boot', boot);
  const kernel = kernelBootOf(def);
  if (kernel) {
    ctx.args.push('-kernel', kernel.kernel);
    if (kernel.initrd !== undefined) ctx.args.push('-initrd', kernel.initrd);
    if (kernel.cmdline !== undefined) ctx.args.push('-append', kernel.cmdline);
  }
  const devices = childElement(def.element, 'devices');
  addControllers(ctx, devices);
  const disks = opts.skipDisks ? [] : addDisks(ctx);
  addInterfaces(ctx, devices);
  addCharDevices(ctx, devices, opts.guestAgentSocketPath);
  addInputs(ctx, devices);
  const hasDisplay = addGraphics(ctx, devices);
  addVideo(ctx, devices);
  addWatchdog(ctx, devices);
  addMemballoon(ctx, devices);
  addRngs(ctx, devices);
  addTpm(ctx, opts.tpmSocketPath);

  const args: string[] = [
    '-name', `guest=${escapeOpt(def.name)}`,
    '-uuid', def.uuid,
    '-machine', [machine, `accel=${opts.accel}`, ...machineProps].join(','),
    '-m', `size=${def.memoryKiB}k`,
    '-nodefaults', '-no-user-config',
    ...(hasDisplay ? [] : ['-display', 'none']),
    '-chardev', `socket,id=charmonitor,path=${escapeOpt(opts.qmpSocketPath)},server=on,wait=off`,
    '-mon', 'chardev=charmonitor,id=monitor,mode=control',
    ...(opts.eventsSocketPath === undefined ? [] : [
      '-chardev', `socket,id=charevents,path=${escapeOpt(opts.eventsSocketPath)},server=on,wait=off`,
      '-mon', 'chardev=charevents,id=events,mode=control',
    ]),
    '-pidfile', opts.pidfilePath,
    // As libvirt: a guest power-off leaves QEMU alive in status 'shutdown', so the driver
    // can tell a shutdown (reason "shutdown") from a QEMU that died (reason "crashed").
    '-no-shutdown',
  ];
  if (opts.paused) args.push('-S');
  if (opts.daemonize) args.push('-daemonize');
  if (opts.incoming) args.push('-incoming', 'defer');
  args.push(...ctx.args);
  for (const device of [...ctx.placedDevices, ...ctx.floatingDevices]) args.push('-device', device);
  return { binary: opts.binary ?? emulatorOf(def) ?? QEMU_SYSTEM_BINARY, args, disks, monitorSetup: ctx.monitorSetup, taps: ctx.taps };
}

/** The disks of the definition: -blockdev file and format nodes, and the -device on its bus. */
function addDisks(ctx: DeviceContext): CommandLineDisk[] {
  const { def, isQ35, args, created } = ctx;
  const disks: CommandLineDisk[] = [];
  let virtioCount = 0;
  for (const disk of def.disks) {
    const target = disk.target;
    const deviceId = diskDeviceId(target);
    const isCdrom = disk.device === 'cdrom';
    if (disk.device !== 'disk' && !isCdrom) unsupported(`disk device '${disk.device}' (${target})`);
    if (disk.type !== 'file' && disk.type !== 'block') unsupported(`disk type '${disk.type}' (${target})`);
    if (disk.sourcePath === undefined && !isCdrom) unsupported(`disk ${target} without a source`);
    const readonly = disk.readonly || isCdrom;

    let nodes: DiskNodeNames | undefined;
    if (disk.sourcePath !== undefined) {
      nodes = diskNodeNames(target);
      args.push('-blockdev', blockdevJson(fileNode(disk, nodes.file, readonly)));
      args.push('-blockdev', blockdevJson(formatNode(disk, nodes, readonly)));
    }
    const drive = nodes ? `,drive=${nodes.format}` : '';
    const bus = disk.bus ?? defaultBus(target);
    const index = diskIndexFromTarget(target);
    let device: string;
    let qdev = `/machine/peripheral/${deviceId}`;
    switch (bus) {
      case 'virtio': {
        if (isCdrom) unsupported(`a virtio CD-ROM (${target})`);
        let placement = '';
        const address = pciPlacement(ctx, disk.element);
        if (address.addr !== undefined) {
          placement = Object.entries(address).map(([k, v]) => `,${k}=${v === true ? 'on' : String(v)}`).join('');
        } else if (virtioCount >= MAX_VIRTIO_ON_ROOT_BUS) {
          // Past the root bus's free slots, hang disks off pci-bridges as the reference did for 32 disks.
          const overflow = virtioCount - MAX_VIRTIO_ON_ROOT_BUS;
          const bridge = Math.floor(overflow / SLOTS_PER_BRIDGE) + 1;
          const bridgeId = `pci-bridge${bridge}`;
          if (!created.has(bridgeId)) {
            created.add(bridgeId);
            pushDevice(ctx, `pci-bridge,id=${bridgeId},chassis_nr=${bridge},bus=pci.0`, true);
          }
          placement = `,bus=${bridgeId},addr=${(overflow % SLOTS_PER_BRIDGE) + 1}`;
        }
        virtioCount++;
        device = `virtio-blk-pci${drive},id=${deviceId}${placement}`;
        qdev = `${qdev}/virtio-backend`;
        break;
      }
      case 'ide': {
        const kind = isCdrom ? 'ide-cd' : 'ide-hd';
        if (isQ35) {
          if (index > 5) unsupported(`IDE disk index ${index} on q35`);
          device = `${kind}${drive},id=${deviceId},bus=ide.${index}`;
        } else {
          if (index > 3) unsupported(`IDE disk index ${index} (${target}); the pc machine has 4`);
          device = `${kind}${drive},id=${deviceId},bus=ide.${index >> 1},unit=${index & 1}`;
        }
        break;
      }
      case 'sata': {
        const kind = isCdrom ? 'ide-cd' : 'ide-hd';
        if (index > 5) unsupported(`SATA disk index ${index} (${target}); one AHCI controller has 6 ports`);
        if (isQ35) {
          device = `${kind}${drive},id=${deviceId},bus=ide.${index}`;
        } else {
          addSata(ctx);
          device = `${kind}${drive},id=${deviceId},bus=sata0.${index}`;
        }
        break;
      }
      case 'scsi': {
        addVirtioScsi(ctx);
        if (index > 255) unsupported(`SCSI disk index ${index}`);
        const kind = isCdrom ? 'scsi-cd' : 'scsi-hd';
        device = `${kind}${drive},id=${deviceId},bus=scsi0.0,channel=0,scsi-id=${index},lun=0`;
        break;
      }
      default:
        unsupported(`disk bus '${bus}' (${target})`);
    }
    const bootindex = ctx.bootIndex.get(diskBootKey(target));
    pushDevice(ctx, bootindex === undefined ? device : `${device},bootindex=${bootindex}`, bus === 'virtio' && device.includes(',addr='));
    disks.push({ target, deviceId, qdev, nodes, readonly });
  }
  return disks;
}

/** The bus libvirt would pick from the target's prefix when `<target bus>` is absent. */
function defaultBus(target: string): string {
  if (target.startsWith('vd')) return 'virtio';
  if (target.startsWith('sd')) return 'scsi';
  if (target.startsWith('hd')) return 'ide';
  return 'unknown';
}

type BlockdevOptions = Record<string, string | boolean>;

function fileNode(disk: DomainDiskDef, nodeName: string, readonly: boolean): BlockdevOptions {
  return {
    driver: disk.type === 'block' ? 'host_device' : 'file',
    filename: disk.sourcePath ?? '',
    'node-name': nodeName,
    'read-only': readonly,
  };
}

function formatNode(disk: DomainDiskDef, nodes: DiskNodeNames, readonly: boolean): BlockdevOptions {
  const format = disk.format ?? 'raw';
  if (!FORMATS.has(format)) unsupported(`disk format '${format}' (${disk.target})`);
  return { driver: format, file: nodes.file, 'node-name': nodes.format, 'read-only': readonly };
}

// The JSON form of -blockdev needs no comma escaping, so any path is safe in it.
function blockdevJson(o: BlockdevOptions): string {
  return JSON.stringify(o);
}

function unsupported(what: string): never {
  throw virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU, `${what} is not supported by the QEMU driver`);
}
