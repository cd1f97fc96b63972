/**
 * virDomainRename for the QEMU driver, with libvirt 9.0's checks and messages (measured
 * against libvirtd 9.0: a domain with snapshots may be renamed; its snapshots go with it,
 * which here is free since they are kept by UUID).
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { parseDomainXML } from '../../../conf/domain-xml.js';
import { checkDomainName } from '../../../conf/name-rules.js';
import { lockDomain, type TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import { domainRecordXml, loadDomainRecord } from '../catalog/snapshot-catalog.js';
import { checkQemuFlags } from '../qemu-flags.js';
import { isDomainRunning } from './active-domains.js';

const Q = VirErrorDomain.QEMU;

/** Renames shut-off persistent domain `dom` to `newName` in one store transaction. */
export async function renameDomain(ctx: TxnContext, dom: DomainRef, newName: string, flags: number): Promise<DomainRef> {
  checkQemuFlags(flags, 'rename');
  const { store } = ctx;
  return lockDomain(ctx, dom.uuid, 'rename', async () => {
    const record = loadDomainRecord(store, dom);
    if (await isDomainRunning(ctx, record.uuid)) throw virError(VirErrorCode.OPERATION_INVALID, Q, 'cannot rename active domain');
    if (!record.persistent) throw virError(VirErrorCode.OPERATION_INVALID, Q, 'cannot rename a transient domain');
    if (newName.includes('/')) throw virError(VirErrorCode.XML_ERROR, Q, `name ${newName} cannot contain '/'`);
    checkDomainName(newName);
    if (newName === record.name) throw virError(VirErrorCode.OPERATION_INVALID, Q, "Can't rename domain to itself");
    const def = parseDomainXML(record.persistentXml ?? '');
    def.name = newName;
    const persistentXml = domainRecordXml(def);
    store.transaction(() => {
      if (store.domains.getByName(newName)) {
        throw virError(VirErrorCode.OPERATION_INVALID, Q, `domain with name '${newName}' already exists`);
      }
      store.domains.update(record.uuid, { name: newName, persistentXml });
    });
    return { uuid: record.uuid, name: newName, id: -1 };
  });
}
