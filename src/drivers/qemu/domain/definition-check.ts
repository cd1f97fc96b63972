/**
 * The QEMU driver's checks of a definition at define and create, as libvirt's
 * post-parse and validation do: interface MACs assigned (kept in the definition), the
 * virt type's accelerator available, and every element honoured or refused, by running
 * the command-line builder on the definition. Disks are left to the start: offline
 * snapshots work on disks that QEMU itself cannot open (network ones). So is what only
 * the QEMU binary can tell (a video or NIC model, a CPU model) when the binary is not
 * installed: shut-off domains need only qemu-img.
 */
import { assignInterfaceMacs } from '../../../conf/domain-mac.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { emulatorOf } from './devices/definition-coverage.js';
import { chooseAccelerator } from './kvm-availability.js';
import { capabilitiesFor } from './qemu-capabilities.js';
import { buildQemuCommandLine, QEMU_SYSTEM_BINARY } from './qemu-command-line.js';

/** Completes `def` (MACs) and refuses it with libvirt's error when QEMU could not run it as written. */
export async function checkDefinitionForQemu(def: DomainDef): Promise<void> {
  assignInterfaceMacs(def);
  const accel = await chooseAccelerator(def);
  const caps = await capabilitiesFor(def, emulatorOf(def) ?? QEMU_SYSTEM_BINARY).catch(() => undefined);
  buildQemuCommandLine(def, {
    accel, qmpSocketPath: 'qmp.sock', eventsSocketPath: 'events.sock', pidfilePath: 'qemu.pid', guestAgentSocketPath: 'qga.sock', skipDisks: true, ...(caps ? { caps } : {}),
  });
}
