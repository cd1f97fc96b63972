/** A job's info and statistics survive the wire both ways, through the generated codecs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { remote_domain_get_job_info_ret, remote_domain_get_job_stats_ret } from '../../src/rpc/generated/remote-protocol.js';
import { encodePayload } from '../../src/rpc/message.js';
import { XdrReader } from '../../src/rpc/xdr-reader.js';
import { jobInfoFromWire, jobStatsFromWire, wireJobInfo, wireJobStats } from '../../src/rpc/wire-job.js';
import type { DomainJobInfo, DomainJobStats } from '../../src/drivers/domain-job-info.js';

test('job info and stats: encoded, decoded, equal', () => {
  const info: DomainJobInfo = {
    type: 2, timeElapsed: 1234, timeRemaining: 0, dataTotal: 1 << 30, dataProcessed: 1 << 20, dataRemaining: (1 << 30) - (1 << 20),
    memTotal: 7, memProcessed: 5, memRemaining: 2, fileTotal: 0, fileProcessed: 0, fileRemaining: 0,
  };
  const infoBytes = encodePayload(remote_domain_get_job_info_ret, wireJobInfo(info));
  assert.equal(infoBytes.length, 4 + 11 * 8);
  assert.deepEqual(jobInfoFromWire(remote_domain_get_job_info_ret.decode(new XdrReader(infoBytes))), info);
  const stats: DomainJobStats = { type: 2, params: [{ field: 'operation', type: 'int', value: 6 }, { field: 'time_elapsed', type: 'ullong', value: 99 }] };
  const statsBytes = encodePayload(remote_domain_get_job_stats_ret, wireJobStats(stats));
  assert.deepEqual(jobStatsFromWire(remote_domain_get_job_stats_ret.decode(new XdrReader(statsBytes))), stats);
});
