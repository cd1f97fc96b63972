/**
 * Guest-like I/O on a running domain without a guest OS: HMP `qemu-io` on a disk's
 * virtio device writes through the guest's own block backend (the active layer of its
 * chain), and `flush` makes QEMU write its cached qcow2 metadata, so that qemu-img can
 * then read (with -U) what the guest would see. qemu-io prints into QEMU's log, not into
 * the HMP reply: a non-empty reply is an error.
 */
import type { Domain } from '../../src/api/domain.js';

/** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP */
const HMP = 1;

async function qemuIo(dom: Domain, target: string, command: string): Promise<void> {
  const reply = await dom.qemuMonitorCommand(`qemu-io -d /machine/peripheral/disk-${target}/virtio-backend "${command}"`, HMP);
  if (reply !== '') throw new Error(`HMP qemu-io '${command}' on ${target} failed: ${reply}`);
}

/** Writes `length` bytes of `pattern` at `offset` of disk `target`, as the guest would. */
export function guestWrite(dom: Domain, target: string, pattern: number, offset: number, length: number): Promise<void> {
  return qemuIo(dom, target, `write -P ${pattern} ${offset} ${length}`);
}

/** Flushes disk `target` of the running domain (its cached qcow2 metadata reaches the file). */
export function guestFlush(dom: Domain, target: string): Promise<void> {
  return qemuIo(dom, target, 'flush');
}
