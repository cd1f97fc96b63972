/**
 * snapvirtd: the daemon's entry point (bin/snapvirtd). Parses the options, goes to the
 * background for --daemon (a detached copy of itself that reports when it listens), writes
 * the pid file, serves until SIGTERM/SIGINT or the idle timeout, then stops in order and
 * removes its sockets and pid file.
 */
import { BlockJobEventRelay } from './block-job-event-relay.js';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ClientSession } from './client-session.js';
import { requireTestingSwitch } from '../txn/failpoints.js';
import { Dispatcher } from './dispatcher.js';
import { DomainLifecycleEvents } from './domain-events.js';
import { DomainWatches } from './domain-watches.js';
import { handlerTable } from './handler-table.js';
import { SnapshotEventRelay } from './snapshot-event-relay.js';
import { parseDaemonArgs, USAGE, UsageError, type DaemonOptions } from './options.js';
import { RpcServer } from './rpc-server.js';
import { StorePool } from '../store/store-pool.js';

/** Set in the detached copy --daemon starts. */
const CHILD_ENV = 'SNAPVIRTD_BACKGROUND_CHILD';

/** --log-file, once serving; stderr until then. */
let logFile: string | undefined;

function log(line: string): void {
  const text = `snapvirtd[${process.pid}]: ${line}\n`;
  // Created 0600, as every file snapvirt creates: a log names domains, paths and clients.
  if (logFile) appendFileSync(logFile, `${new Date().toISOString()} ${text}`, { mode: 0o600 });
  else process.stderr.write(text);
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Starts a detached copy without --daemon and waits until it listens (or says why it cannot). */
async function goBackground(argv: readonly string[]): Promise<number> {
  const args = argv.filter((a) => a !== '--daemon' && a !== '-d');
  const child = spawn(process.execPath, [process.argv[1], ...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  const outcome = await new Promise<string>((resolve) => {
    child.once('message', (m) => resolve(String(m)));
    child.once('exit', (code) => resolve(`error: the daemon exited with status ${code} before listening`));
  });
  child.disconnect?.();
  child.unref();
  if (outcome === 'ready') return 0;
  process.stderr.write(`snapvirtd: ${outcome.replace(/^error: /, '')}\n`);
  return 1;
}

async function serve(o: DaemonOptions): Promise<void> {
  logFile = o.logFile;
  // As the CLI: a stray SNAPVIRT_FAILPOINTS in a user's environment must never make the daemon fail on purpose.
  const failpointNotice = requireTestingSwitch();
  if (failpointNotice) log(failpointNotice);
  const root = process.getuid?.() === 0;
  // libvirt's modes: a session daemon's directory and sockets are its user's alone; root's
  // read-write socket is root's, its read-only socket anyone's.
  if (root) await mkdir(dirname(o.socketPath), { recursive: true, mode: 0o755 });
  const events: DomainLifecycleEvents = new DomainLifecycleEvents((): Iterable<ClientSession> => server.sessions());
  const snapshotEvents = new SnapshotEventRelay((): Iterable<ClientSession> => server.sessions());
  const blockJobs = new BlockJobEventRelay((): Iterable<ClientSession> => server.sessions(), () => watches, log);
  const watches = new DomainWatches((): Iterable<ClientSession> => server.sessions(), (uri, event) => blockJobs.heardOn(uri, event), (uri, uuid) => events.lookSoon(uri, uuid));
  const stores = new StorePool();
  const dispatcher: Dispatcher = new Dispatcher(handlerTable(events, snapshotEvents, watches, stores), log);
  let stopping: Promise<void> | undefined;
  const stop = (why: string): Promise<void> => {
    stopping ??= (async () => {
      log(`stopping (${why}): finishing running calls`);
      events.stop();
      await server.stop();
      watches.stop();
      stores.close();
      log('stopped');
      // The pid file goes last: once it is gone, the daemon has done everything it will do.
      if (o.pidFile) await rm(o.pidFile, { force: true });
      process.exit(0);
    })();
    return stopping;
  };
  const server: RpcServer = new RpcServer(dispatcher, {
    socketPath: o.socketPath,
    readOnlySocketPath: `${o.socketPath}-ro`,
    socketMode: root ? 0o700 : 0o600,
    readOnlySocketMode: root ? 0o777 : 0o600,
    maxClients: o.maxClients,
    idleTimeout: o.timeout,
    log,
  }, () => { void stop(`idle for ${o.timeout} s`); });
  await server.start();
  if (o.pidFile) await writeFile(o.pidFile, `${process.pid}\n`, { mode: 0o600 });
  process.on('SIGTERM', () => { void stop('SIGTERM'); });
  process.on('SIGINT', () => { void stop('SIGINT'); });
  log(`listening on ${o.socketPath} and ${o.socketPath}-ro`);
  if (process.send) {
    process.send('ready');
    process.disconnect();
  }
}

/** Runs snapvirtd with `argv`; resolves to an exit status when it does not keep serving. */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  let o: DaemonOptions;
  try {
    o = parseDaemonArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`snapvirtd: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (o.help) { process.stdout.write(USAGE); return 0; }
  if (o.version) { process.stdout.write(`snapvirtd (snapvirt) ${packageVersion()}\n`); return 0; }
  if (o.daemon && !process.env[CHILD_ENV]) return goBackground(argv);
  try {
    await serve(o);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (process.send) { process.send(`error: ${message}`); process.disconnect(); }
    process.stderr.write(`snapvirtd: ${message}\n`);
    return 1;
  }
  return undefined;
}
