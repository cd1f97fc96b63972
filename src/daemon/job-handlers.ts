/** The job procedures: virDomainGetJobInfo, virDomainGetJobStats and virDomainAbortJob through the public API. */
import type { RemoteHandlers } from './handler-types.js';
import { domainOf } from './wire-objects.js';
import { wireJobInfo, wireJobStats } from '../rpc/wire-job.js';

export const jobHandlers: RemoteHandlers = {
  REMOTE_PROC_DOMAIN_GET_JOB_INFO: async (s, { dom }) => wireJobInfo(await domainOf(s.connection(), dom).getJobInfo()),
  REMOTE_PROC_DOMAIN_GET_JOB_STATS: async (s, { dom, flags }) => wireJobStats(await domainOf(s.connection(), dom).getJobStats(flags)),
  REMOTE_PROC_DOMAIN_ABORT_JOB: async (s, { dom }) => { await domainOf(s.connection(), dom).abortJob(); return null; },
};
