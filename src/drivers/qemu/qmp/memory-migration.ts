/**
 * Saving a running machine's memory and device state to a file, and loading it into a
 * fresh QEMU, with QMP migration. QEMU 7.2 has no `file:` migration URI and an `exec:`
 * URI would run a shell on our path, so the stream goes through a private unix socket
 * (0600, in the runtime directory) that this process serves: outgoing, QEMU connects
 * and we write what it sends into the file; incoming, QEMU listens and we send the file.
 * The file holds QEMU's raw migration stream (not libvirt's save-image format).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, open, rm, stat } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { QmpClient } from './qmp-client.js';
import { isJsonObject, optionalString, type JsonObject } from './qmp-json.js';
import { currentJob, type RunningJob } from '../../../txn/index.js';

/** Unlimited for a save to a local file (QEMU's default caps migration at 32 MiB/s). */
const SAVE_BANDWIDTH = 2 ** 40;

function failed(detail: string): Error {
  return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, detail);
}

/** How long a migration may still complete after our side of the stream failed. */
const STREAM_FAILURE_GRACE_MS = 5000;

/**
 * Polls query-migrate until the migration completes; throws QEMU's error if it fails.
 * `streamFailure` reports an error of our side of the stream: QEMU's status decides
 * (it may have read everything already), but not for longer than a short grace.
 */
async function waitMigration(qmp: QmpClient, timeoutMs: number, streamFailure: () => unknown = () => undefined, outgoing = true): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let failedAt: number | undefined;
  const job = currentJob();
  for (;;) {
    const info = await qmp.execute('query-migrate');
    const status = isJsonObject(info) ? optionalString(info, 'status') : undefined;
    if (status === 'completed') return;
    if (job && isJsonObject(info)) reportProgress(job, info);
    if (job?.abortRequested()) {
      // An outgoing migration is cancelled in QEMU; an incoming one ends with the new QEMU its caller kills.
      if (outgoing) await qmp.execute('migrate_cancel').catch(() => undefined);
      throw job.aborted();
    }
    if (status === 'failed' || status === 'cancelled') {
      const desc = isJsonObject(info) ? optionalString(info, 'error-desc') : undefined;
      throw failed(`migration of the memory state ${status}${desc ? `: ${desc}` : ''}`);
    }
    const streamError = streamFailure();
    if (streamError !== undefined) {
      failedAt ??= performance.now();
      if (performance.now() - failedAt > STREAM_FAILURE_GRACE_MS) {
        throw failed(`transferring the memory state failed: ${streamError instanceof Error ? streamError.message : String(streamError)}`);
      }
    }
    if (performance.now() > deadline) throw failed('migration of the memory state timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The memory transfer's counters (query-migrate's `ram`), as the job's progress. */
function reportProgress(job: RunningJob, info: JsonObject): void {
  const ram = info['ram'];
  if (!isJsonObject(ram)) return;
  const num = (k: string): number | undefined => (typeof ram[k] === 'number' ? ram[k] as number : undefined);
  const total = num('total');
  const transferred = num('transferred');
  const mbps = num('mbps');
  job.progress({
    memTotal: total, memProcessed: transferred, dataTotal: total, dataProcessed: transferred,
    memBps: mbps === undefined ? undefined : Math.round((mbps * 1_000_000) / 8),
  });
}

/**
 * Writes the machine state into `path` (created exclusively, 0600; the caller journals
 * it first). The vCPUs end stopped (QEMU's `postmigrate`): the caller resumes them.
 */
export async function saveMemoryToFile(qmp: QmpClient, socketDir: string, path: string, timeoutMs = 3_600_000): Promise<void> {
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  await new Promise<void>((resolve, reject) => { out.once('open', () => resolve()); out.once('error', reject); });
  const sockPath = join(socketDir, `save-${process.pid}.sock`);
  await rm(sockPath, { force: true });
  const server = createServer();
  const received = new Promise<void>((resolve, reject) => {
    server.once('connection', (sock: Socket) => {
      server.close();
      pipeline(sock, out).then(resolve, reject);
    });
    server.once('error', reject);
  });
  received.catch(() => undefined);
  try {
    await new Promise<void>((resolve, reject) => { server.listen(sockPath, () => resolve()); server.once('error', reject); });
    await chmod(sockPath, 0o600);
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': SAVE_BANDWIDTH });
    await qmp.execute('migrate', { uri: `unix:${sockPath}` });
    await waitMigration(qmp, timeoutMs);
    await received;
  } finally {
    server.close();
    out.destroy();
    await rm(sockPath, { force: true });
  }
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Feeds `path` into a QEMU started with `-incoming defer` (and -S); it stays paused. */
export async function loadMemoryFromFile(qmp: QmpClient, socketDir: string, path: string, timeoutMs = 3_600_000): Promise<void> {
  const sockPath = join(socketDir, 'incoming.sock');
  await rm(sockPath, { force: true });
  await qmp.execute('migrate-incoming', { uri: `unix:${sockPath}` });
  const sock = await new Promise<Socket>((resolve, reject) => {
    const s = createConnection({ path: sockPath });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  try {
    // QEMU may close its end as soon as it has read the whole stream, before our writes
    // report done ("Premature close"): whether the load worked is QEMU's to say.
    let streamError: unknown;
    const reader = createReadStream(path);
    // Only recorded for waitMigration, which reports QEMU's migration status as the error.
    const sent = pipeline(reader, sock).catch((err: unknown) => { streamError = err ?? new Error('stream failed'); });
    const size = (await stat(path)).size;
    const job = currentJob();
    const counter = job ? setInterval(() => job.progress({ memTotal: size, memProcessed: reader.bytesRead, dataTotal: size, dataProcessed: reader.bytesRead }), 100) : undefined;
    try {
      await waitMigration(qmp, timeoutMs, () => streamError, false);
    } finally {
      clearInterval(counter);
    }
    sock.destroy();
    await sent;
  } finally {
    sock.destroy();
    await rm(sockPath, { force: true });
  }
}
