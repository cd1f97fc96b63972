/**
 * The QEMU driver's lifecycle calls (reboot, reset, autostart, rename): the driver table's
 * optional `lifecycle` part, each a thin step onto the file that does the work. It holds
 * no state of its own, so the driver makes one per use (a getter) from its context.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { lockDomain, type TxnContext } from '../../../txn/index.js';
import type { DomainLifecycleDriver } from '../../domain-lifecycle-driver.js';
import type { DomainRef } from '../../driver.js';
import { loadDomainRecord } from '../catalog/snapshot-catalog.js';
import { domainVanished } from './transient-domain.js';
import { rebootDomain, resetDomain } from './domain-reboot.js';
import { renameDomain } from './domain-rename.js';

export { autostartAfterBoot } from './autostart.js';

/** The lifecycle part of the QEMU driver over one state store. */
export class QemuDomainLifecycle implements DomainLifecycleDriver {
  constructor(private readonly ctx: TxnContext) {}

  async reboot(dom: DomainRef, flags: number): Promise<void> { await rebootDomain(this.ctx, dom, flags); }
  async reset(dom: DomainRef, flags: number): Promise<void> { await resetDomain(this.ctx, dom, flags); }
  async rename(dom: DomainRef, newName: string, flags: number): Promise<DomainRef> { return renameDomain(this.ctx, dom, newName, flags); }

  /** virDomainSetAutostart: persistent domains only (libvirt's qemuDomainSetAutostart). */
  async setAutostart(dom: DomainRef, autostart: boolean): Promise<void> {
    await lockDomain(this.ctx, dom.uuid, 'autostart', async () => {
      const record = loadDomainRecord(this.ctx.store, dom);
      if (!record.persistent) {
        throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'cannot set autostart for transient domain');
      }
      if (record.autostart !== autostart) this.ctx.store.transaction(() => this.ctx.store.domains.update(record.uuid, { autostart }));
    });
  }

  async getAutostart(dom: DomainRef): Promise<boolean> {
    await domainVanished(this.ctx, dom.uuid);
    return loadDomainRecord(this.ctx.store, dom).autostart;
  }
}
