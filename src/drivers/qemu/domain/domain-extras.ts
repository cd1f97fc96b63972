/**
 * Parts of a `<domain>` the typed DomainDef does not carry but the QEMU command line
 * needs: direct kernel boot (`<os><kernel>`, `<initrd>`, `<cmdline>`) and whether a
 * guest agent channel is configured (`<channel type='unix'>` with target
 * `org.qemu.guest_agent.0`). Read from the verbatim element; pure.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { attrValue, childElement, childElements, textContent } from '../../../conf/xml-tree.js';

/** libvirt's name for the guest agent's virtio-serial port. */
export const GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0';

/** Direct kernel boot settings, when the domain has them. */
export interface KernelBoot {
  kernel: string;
  initrd?: string;
  cmdline?: string;
}

/** The `<os>` kernel boot of `def`, or undefined when it boots from its disks. */
export function kernelBootOf(def: DomainDef): KernelBoot | undefined {
  const os = childElement(def.element, 'os');
  const kernel = os && childElement(os, 'kernel');
  if (!os || !kernel) return undefined;
  const initrd = childElement(os, 'initrd');
  const cmdline = childElement(os, 'cmdline');
  return {
    kernel: textContent(kernel).trim(),
    ...(initrd ? { initrd: textContent(initrd).trim() } : {}),
    ...(cmdline ? { cmdline: textContent(cmdline).trim() } : {}),
  };
}

/** True when `def` configures a qemu-guest-agent channel (libvirt's `<channel>` for it). */
export function hasGuestAgentChannel(def: DomainDef): boolean {
  const devices = childElement(def.element, 'devices');
  if (!devices) return false;
  return childElements(devices, 'channel').some((ch) => {
    const target = childElement(ch, 'target');
    return attrValue(ch, 'type') === 'unix' && target !== undefined
      && attrValue(target, 'type') === 'virtio' && attrValue(target, 'name') === GUEST_AGENT_CHANNEL;
  });
}

/** Refuses, with libvirt's error, an agent command (a quiesce) for a domain with no guest agent channel. */
export function requireGuestAgentChannel(def: DomainDef): void {
  if (!hasGuestAgentChannel(def)) throw virError(VirErrorCode.ARGUMENT_UNSUPPORTED, VirErrorDomain.QEMU, 'QEMU guest agent is not configured');
}
