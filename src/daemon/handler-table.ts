/** Every procedure handler of the daemon, by program number (the dispatcher's table). */
import { QEMU, REMOTE } from '../rpc/programs.js';
import { connectHandlers } from './connect-handlers.js';
import type { HandlerTable } from './dispatcher.js';
import { DomainLifecycleEvents } from './domain-events.js';
import { domainHandlers } from './domain-handlers.js';
import { qemuHandlers } from './qemu-handlers.js';
import { snapshotHandlers } from './snapshot-handlers.js';

export function handlerTable(events: DomainLifecycleEvents): HandlerTable {
  return new Map([
    [REMOTE.prog, { ...connectHandlers, ...domainHandlers(events), ...snapshotHandlers, ...events.handlers() }],
    [QEMU.prog, { ...qemuHandlers }],
  ]) as HandlerTable;
}
