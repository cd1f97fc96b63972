/** A domain job's info and statistics to and from their wire forms (remote_domain_get_job_*_ret). */
import type { DomainJobInfo, DomainJobStats, JobStatParam } from '../drivers/domain-job-info.js';
import type { RemoteDomainGetJobInfoRet, RemoteDomainGetJobStatsRet, RemoteTypedParam } from './generated/remote-protocol.js';

/** VIR_TYPED_PARAM_INT and VIR_TYPED_PARAM_ULLONG. */
const TYPED_INT = 1;
const TYPED_ULLONG = 4;

/** virDomainJobInfo's counters, in the wire struct's order. */
const COUNTERS = [
  'timeElapsed', 'timeRemaining', 'dataTotal', 'dataProcessed', 'dataRemaining',
  'memTotal', 'memProcessed', 'memRemaining', 'fileTotal', 'fileProcessed', 'fileRemaining',
] as const;

/** DomainJobInfo → remote_domain_get_job_info_ret. */
export function wireJobInfo(i: DomainJobInfo): RemoteDomainGetJobInfoRet {
  const ret = { type: i.type } as RemoteDomainGetJobInfoRet;
  for (const k of COUNTERS) ret[k] = BigInt(i[k]);
  return ret;
}

/** remote_domain_get_job_info_ret → DomainJobInfo. */
export function jobInfoFromWire(r: RemoteDomainGetJobInfoRet): DomainJobInfo {
  const info = { type: r.type } as DomainJobInfo;
  for (const k of COUNTERS) info[k] = Number(r[k]);
  return info;
}

/** DomainJobStats → remote_domain_get_job_stats_ret. */
export function wireJobStats(s: DomainJobStats): RemoteDomainGetJobStatsRet {
  return {
    type: s.type,
    params: s.params.map((p): RemoteTypedParam => ({
      field: p.field,
      value: p.type === 'int' ? { type: TYPED_INT, value: p.value } : { type: TYPED_ULLONG, value: BigInt(p.value) },
    })),
  };
}

/** remote_domain_get_job_stats_ret → DomainJobStats (the numeric parameters; others are left out). */
export function jobStatsFromWire(r: RemoteDomainGetJobStatsRet): DomainJobStats {
  const params: JobStatParam[] = [];
  for (const p of r.params) {
    const v = p.value;
    if (v.type === 7) continue;
    params.push({ field: p.field, type: v.type === TYPED_INT || v.type === 2 ? 'int' : 'ullong', value: Number(v.value) });
  }
  return { type: r.type, params };
}
