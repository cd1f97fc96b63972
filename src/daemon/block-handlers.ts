/**
 * The block procedures: virDomainBlockCommit, virDomainBlockPull, virDomainBlockRebase,
 * virDomainGetBlockJobInfo, virDomainBlockJobAbort and virDomainGetBlockInfo through the
 * public API, so the read-only refusal, the disk checks and every error are the library's.
 */
import { BlockCommitFlags, BlockJobAbortFlags } from '../api/flags.js';
import type { RemoteHandlers } from './handler-types.js';
import { rememberPivot, takePivot } from './pivoted-commits.js';
import { domainOf } from './wire-objects.js';
import { uuidString } from '../rpc/wire-uuid.js';

/** A bandwidth off the wire (unsigned hyper); the library counts in numbers. */
const bandwidthOf = (b: bigint): number => Number(b);

export const blockHandlers: RemoteHandlers = {
  REMOTE_PROC_DOMAIN_BLOCK_COMMIT: async (s, { dom, disk, base, top, bandwidth, flags }) => {
    takePivot(s, uuidString(dom.uuid), disk);
    await domainOf(s.connection(), dom).blockCommit(disk, base, top, bandwidthOf(bandwidth), flags);
    if (flags & BlockCommitFlags.ACTIVE) rememberPivot(s, uuidString(dom.uuid), disk);
    return null;
  },
  REMOTE_PROC_DOMAIN_BLOCK_PULL: async (s, { dom, path, bandwidth, flags }) => {
    takePivot(s, uuidString(dom.uuid), path);
    await domainOf(s.connection(), dom).blockPull(path, bandwidthOf(bandwidth), flags);
    return null;
  },
  REMOTE_PROC_DOMAIN_BLOCK_REBASE: async (s, { dom, path, base, bandwidth, flags }) => {
    takePivot(s, uuidString(dom.uuid), path);
    await domainOf(s.connection(), dom).blockRebase(path, base, bandwidthOf(bandwidth), flags);
    return null;
  },
  // libvirt's wire form of "no job" is found = 0 with the other fields zero (remoteDomainGetBlockJobInfo).
  REMOTE_PROC_DOMAIN_GET_BLOCK_JOB_INFO: async (s, { dom, path, flags }) => {
    const info = await domainOf(s.connection(), dom).getBlockJobInfo(path, flags);
    if (!info) return { found: 0, type: 0, bandwidth: 0n, cur: 0n, end: 0n };
    return { found: 1, type: info.type, bandwidth: BigInt(info.bandwidth), cur: BigInt(info.cur), end: BigInt(info.end) };
  },
  REMOTE_PROC_DOMAIN_BLOCK_JOB_ABORT: async (s, { dom, path, flags }) => {
    // The pivot of this client's own active commit, done inside that call (pivoted-commits.ts).
    if (takePivot(s, uuidString(dom.uuid), path) && (flags & BlockJobAbortFlags.PIVOT)) {
      // No job on the disk now is what that pivot leaves (a job started since is the library's to answer).
      if ((await domainOf(s.connection(), dom).getBlockJobInfo(path)) === null) return null;
    }
    await domainOf(s.connection(), dom).blockJobAbort(path, flags);
    return null;
  },
  REMOTE_PROC_DOMAIN_GET_BLOCK_INFO: async (s, { dom, path, flags }) => {
    const info = await domainOf(s.connection(), dom).getBlockInfo(path, flags);
    return { allocation: BigInt(info.allocation), capacity: BigInt(info.capacity), physical: BigInt(info.physical) };
  },
};
