/** Every procedure handler of the daemon, by program number (the dispatcher's table). */
import { QEMU, REMOTE, SNAPVIRT } from '../rpc/programs.js';
import { connectHandlers, openHandler } from './connect-handlers.js';
import type { HandlerTable } from './dispatcher.js';
import { DomainLifecycleEvents } from './domain-events.js';
import type { DomainWatches } from './domain-watches.js';
import { domainHandlers } from './domain-handlers.js';
import { jobHandlers } from './job-handlers.js';
import { blockHandlers } from './block-handlers.js';
import { lifecycleHandlers } from './lifecycle-handlers.js';
import { qemuHandlers } from './qemu-handlers.js';
import type { SnapshotEventRelay } from './snapshot-event-relay.js';
import { snapshotHandlers } from './snapshot-handlers.js';
import { snapvirtHandlers } from './snapvirt-handlers.js';
import { groupHandlers } from './group-handlers.js';
import type { StorePool } from '../store/store-pool.js';

/** `stores`: the state stores every client's connection borrows (one per state directory). */
export function handlerTable(events: DomainLifecycleEvents, snapshotEvents: SnapshotEventRelay, watches: DomainWatches, stores: StorePool): HandlerTable {
  return new Map([
    [REMOTE.prog, {
      ...connectHandlers, ...snapshotEvents.wrapOpen(watches.wrapOpen(openHandler(stores))),
      ...domainHandlers(events), ...snapshotHandlers, ...jobHandlers, ...watches.wrapRegister(events.handlers()),
      ...lifecycleHandlers(events), ...blockHandlers,
    }],
    [QEMU.prog, { ...qemuHandlers }],
    [SNAPVIRT.prog, { ...snapvirtHandlers, ...groupHandlers, ...snapshotEvents.handlers() }],
  ]) as HandlerTable;
}
