/**
 * virDomainReboot and virDomainReset on a running QEMU, as libvirt's qemuDomainReboot and
 * qemuDomainReset do them. A reboot goes through the guest agent when the domain has one
 * (or when asked to), else through the ACPI power button with libvirt's "fake reboot":
 * the guest powers off, and instead of stopping QEMU the driver resets and resumes it.
 * libvirt does that the moment QEMU's SHUTDOWN event arrives; snapvirt has no resident
 * process listening, so the next call that looks at the domain (domstate, list, any
 * command on it) finds QEMU in status 'shutdown' with the mark set and finishes the reboot.
 */
import { RunningReason } from '../../../api/flags.js';
import { lockDomain, type TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import { loadDomain } from '../catalog/snapshot-catalog.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import { GuestAgent } from '../qmp/guest-agent.js';
import { checkQemuFlags } from '../qemu-flags.js';
import { requireRunning, updateRuntime, liveDefOf } from './active-domains.js';
import { runtimeOf, type DomainRuntime } from './active-runtime.js';
import { hasGuestAgentChannel, requireGuestAgentChannel } from './domain-extras.js';
import { qemuRuntimePaths } from './qemu-process.js';

/** VIR_DOMAIN_REBOOT_GUEST_AGENT */
const REBOOT_AGENT = 2;

/** virDomainReboot: flags 0 (agent if configured, else ACPI), ACPI_POWER_BTN or GUEST_AGENT. */
export async function rebootDomain(ctx: TxnContext, dom: DomainRef, flags: number): Promise<void> {
  checkQemuFlags(flags, 'reboot');
  await lockDomain(ctx, dom.uuid, 'reboot', async () => {
    const rt = await requireRunning(ctx, dom);
    const def = liveDefOf(loadDomain(ctx.store, dom));
    const agentForced = (flags & REBOOT_AGENT) !== 0;
    if (agentForced) requireGuestAgentChannel(def);
    if ((agentForced || flags === 0) && hasGuestAgentChannel(def)) {
      try {
        await agentReboot(qemuRuntimePaths(rt.runtimeDir).guestAgentSocket);
        return;
      } catch (err) {
        // As libvirt: a default reboot falls back to ACPI when the agent does not answer.
        if (agentForced) throw err;
      }
    }
    updateRuntime(ctx, dom.uuid, { fakeReboot: true });
    try {
      await withMonitor(rt.runtimeDir, (qmp) => qmp.execute('system_powerdown'));
    } catch (err) {
      updateRuntime(ctx, dom.uuid, { fakeReboot: undefined });
      throw err;
    }
  });
}

/** guest-shutdown mode=reboot: the agent does not answer it when it works; an error reply (no shutdown program in the guest…) fails. */
async function agentReboot(socket: string): Promise<void> {
  const agent = await GuestAgent.connect(socket, 5000);
  try {
    await agent.executeNoReply('guest-shutdown', { mode: 'reboot' }, 2000);
  } finally {
    agent.close();
  }
}

/** virDomainReset: QMP system_reset, the guest's reset button; its state is kept. */
export async function resetDomain(ctx: TxnContext, dom: DomainRef, flags: number): Promise<void> {
  checkQemuFlags(flags, 'reset');
  await lockDomain(ctx, dom.uuid, 'reset', async () => {
    const rt = await requireRunning(ctx, dom);
    await withMonitor(rt.runtimeDir, (qmp) => qmp.execute('system_reset'));
    // A reset cancels a pending fake reboot, as in libvirt (the guest will not power off for it).
    if (rt.fakeReboot) updateRuntime(ctx, dom.uuid, { fakeReboot: undefined });
  });
}

/**
 * A guest powered off after an ACPI reboot: resets and resumes it (reason booted) instead of
 * stopping it. False when another process got there first and the domain is no longer
 * in that state (the caller then treats it as an ordinary power-off only if still so).
 */
export async function finishFakeReboot(ctx: TxnContext, dom: DomainRef, rt: DomainRuntime): Promise<boolean> {
  return lockDomain(ctx, dom.uuid, 'reboot', async () => {
    const now = runtimeOf(ctx.store, dom.uuid);
    if (now?.runtimeDir !== rt.runtimeDir) return false;
    if (!now.fakeReboot) return true; // finished by another call since
    await withMonitor(rt.runtimeDir, async (qmp) => {
      await qmp.execute('system_reset');
      await qmp.execute('cont');
    });
    updateRuntime(ctx, dom.uuid, { fakeReboot: undefined, state: 'running', reason: RunningReason.BOOTED });
    return true;
  });
}
