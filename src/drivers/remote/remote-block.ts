/**
 * The remote driver's block calls (virDomainBlockCommit, virDomainBlockPull,
 * virDomainBlockRebase, virDomainGetBlockJobInfo, virDomainBlockJobAbort,
 * virDomainGetBlockInfo) over the REMOTE program, as libvirt's remote driver makes them.
 */
import { remoteProcedures as P } from '../../rpc/generated/remote-protocol.js';
import { REMOTE } from '../../rpc/programs.js';
import type { BlockDriver } from '../block-driver.js';
import type { RpcClient } from './rpc-client.js';
import { wireDomain } from './wire-refs.js';

/**
 * The block table over `call`. The API hands a pull over as a rebase without a base (the
 * same job: libvirt's QEMU driver runs virDomainBlockPull as that rebase), so it goes as
 * BLOCK_REBASE; the flag values of the two agree (BANDWIDTH_BYTES is 1 << 6 in both).
 */
export function remoteBlockDriver(call: RpcClient['call']): BlockDriver {
  return {
    async blockCommit(dom, disk, base, top, bandwidth, flags) {
      await call(REMOTE, P.REMOTE_PROC_DOMAIN_BLOCK_COMMIT, { dom: wireDomain(dom), disk, base, top, bandwidth: BigInt(bandwidth), flags });
    },
    async blockRebase(dom, disk, base, bandwidth, flags) {
      await call(REMOTE, P.REMOTE_PROC_DOMAIN_BLOCK_REBASE, { dom: wireDomain(dom), path: disk, base, bandwidth: BigInt(bandwidth), flags });
    },
    async getBlockJobInfo(dom, disk, flags) {
      const r = await call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_BLOCK_JOB_INFO, { dom: wireDomain(dom), path: disk, flags });
      if (r.found === 0) return null;
      const cur = Number(r.cur);
      const end = Number(r.end);
      // The wire has no ready flag: a job at its end waits for its pivot or abort, as virsh reads it.
      return { type: r.type, bandwidth: Number(r.bandwidth), cur, end, ready: end > 0 && cur === end };
    },
    async blockJobAbort(dom, disk, flags) {
      await call(REMOTE, P.REMOTE_PROC_DOMAIN_BLOCK_JOB_ABORT, { dom: wireDomain(dom), path: disk, flags });
    },
    async getBlockInfo(dom, disk, flags) {
      const r = await call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_BLOCK_INFO, { dom: wireDomain(dom), path: disk, flags });
      return { capacity: Number(r.capacity), allocation: Number(r.allocation), physical: Number(r.physical) };
    },
  };
}
