/**
 * The test driver's block table, as libvirt's test driver has it: virDomainGetBlockInfo
 * with its fixed sizes (testDomainGetBlockInfo), and no block jobs (the API's
 * "this function is not supported by the connection driver").
 */
import { resolve } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import type { DomainDef } from '../../conf/domain-types.js';
import type { BlockDriver } from '../block-driver.js';
import type { DomainRef } from '../driver.js';
import { checkFlags } from './check-flags.js';

function unsupported(fn: string): Promise<never> {
  return Promise.reject(virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.NONE, fn));
}

/** The block table over the driver's domains (`defOf`: the definition behind a handle, or its error). */
export function testBlockDriver(defOf: (dom: DomainRef) => DomainDef): BlockDriver {
  return {
    blockCommit: () => unsupported('virDomainBlockCommit'),
    blockRebase: (_dom, _disk, base) => unsupported(base === null ? 'virDomainBlockPull' : 'virDomainBlockRebase'),
    getBlockJobInfo: () => unsupported('virDomainGetBlockJobInfo'),
    blockJobAbort: () => unsupported('virDomainBlockJobAbort'),
    async getBlockInfo(dom, path, flags) {
      checkFlags(flags, 0, 'testDomainGetBlockInfo');
      const def = defOf(dom);
      const disk = def.disks.find((d) => d.target === path) ?? def.disks.find((d) => d.sourcePath !== undefined && resolve(d.sourcePath) === resolve(path));
      if (!disk) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.TEST, `invalid path ${path} not assigned to domain`);
      if (disk.sourcePath === undefined) {
        throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.TEST, `disk '${path}' does not currently have a source assigned`);
      }
      return { capacity: 1099506450432, allocation: 1099511627776, physical: 1099511627776 };
    },
  };
}
