/**
 * What the device families share while one command line is built: the argument vector
 * they append to, the machine (pc or q35 decide buses and chipset globals), the
 * accelerator, what the QEMU binary offers, the ids already created (controllers, buses),
 * the boot indexes, and QMP commands to run once the monitor is up (a VNC password is
 * set over QMP, never on the command line).
 */
import type { DomainDef } from '../../../../conf/domain-types.js';
import type { QemuAccelerator } from '../kvm-availability.js';
import type { QemuCapabilities } from '../qemu-capabilities.js';
import { deviceArg, type QemuProps } from './qemu-option.js';

/** One QMP command run right after the monitor is ready, before the guest runs. */
export interface MonitorSetupCommand {
  execute: string;
  arguments: Record<string, unknown>;
}

/** A tap QEMU creates for an interface, brought up (and put on its bridge) once QEMU runs. */
export interface TapPlan {
  /** The -netdev id; `info network` names the tap the kernel gave it. */
  netdev: string;
  bridge?: string;
}

/** The state of one command-line build. */
export interface DeviceContext {
  readonly def: DomainDef;
  readonly isQ35: boolean;
  readonly accel: QemuAccelerator;
  /** What the binary offers; undefined when not probed (then every device is assumed present). */
  readonly caps: QemuCapabilities | undefined;
  readonly args: string[];
  /** Ids of controllers and buses already on the command line (usb, pci.1, virtio-serial0…). */
  readonly created: Set<string>;
  /** Boot index of each device that has one, by bootDeviceKey(). */
  readonly bootIndex: ReadonlyMap<string, number>;
  readonly monitorSetup: MonitorSetupCommand[];
  /** Taps to set up on the host after the start. */
  readonly taps: TapPlan[];
  /** False when this process may not create taps (not root); undefined: not known here (define). */
  readonly canCreateTaps: boolean | undefined;
  /** -device values of controllers and of devices at a fixed PCI address: created first. */
  readonly placedDevices: string[];
  /** -device values QEMU places itself: created after, so they take slots nobody asked for. */
  readonly floatingDevices: string[];
}

/**
 * Adds a -device: controllers (`early`) and devices with an `addr` go before those QEMU
 * places, so an auto-placed device never takes a slot a later device's `<address>` names.
 */
export function pushDevice(ctx: DeviceContext, props: QemuProps | string, early = false): void {
  const placed = early || (typeof props !== 'string' && props.addr !== undefined);
  (placed ? ctx.placedDevices : ctx.floatingDevices).push(typeof props === 'string' ? props : deviceArg(props));
}

/** The root PCI bus of the machine. */
export function rootBus(ctx: DeviceContext): string {
  return ctx.isQ35 ? 'pcie.0' : 'pci.0';
}

/** True when the QEMU binary has the device `driver` (always true when not probed). */
export function hasDevice(ctx: DeviceContext, driver: string): boolean {
  return ctx.caps === undefined || ctx.caps.devices.has(driver);
}
