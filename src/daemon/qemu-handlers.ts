/** The QEMU program: qemu-monitor-command, through Domain.qemuMonitorCommand. */
import type { QemuHandlers } from './handler-types.js';
import { domainOf } from './wire-objects.js';

export const qemuHandlers: QemuHandlers = {
  QEMU_PROC_DOMAIN_MONITOR_COMMAND: async (s, { dom, cmd, flags }) => ({ result: await domainOf(s.connection(), dom).qemuMonitorCommand(cmd, flags) }),
};
