/**
 * snapvirtd's server step by step: one client's call that has not finished does not hold
 * up another client's calls (nor the same client's next ones); and the orderly stop: a call
 * still running when the stop begins is answered when it finishes, a call that arrives
 * meanwhile is refused with an RPC error, and the stop completes only then. The server,
 * sockets and dispatcher are the daemon's own; one procedure's handler is the test's, so
 * the test decides when the running call ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { connectHandlers, openHandler } from '../../src/daemon/connect-handlers.js';
import { StorePool } from '../../src/store/store-pool.js';
import { RpcServer } from '../../src/daemon/rpc-server.js';
import { remoteProcedures as P } from '../../src/rpc/generated/remote-protocol.js';
import { REMOTE } from '../../src/rpc/programs.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { RpcTestClient } from '../helpers/rpc-test-client.js';

/** A server whose CONNECT_GET_HOSTNAME handler waits until the test releases it. */
async function heldServer(dir: string): Promise<{ server: RpcServer; socketPath: string; running: Promise<void>; release(): void; logs: string[] }> {
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  let started!: () => void;
  const running = new Promise<void>((r) => { started = r; });
  const handlers = new Map([[REMOTE.prog, {
    ...connectHandlers,
    REMOTE_PROC_CONNECT_OPEN: openHandler(new StorePool()),
    REMOTE_PROC_CONNECT_GET_HOSTNAME: async () => { started(); await held; return { hostname: 'held' }; },
  }]]);
  const logs: string[] = [];
  const socketPath = join(dir, 'sock');
  const server = new RpcServer(new Dispatcher(handlers as never, (l) => logs.push(l)), {
    socketPath, readOnlySocketPath: `${socketPath}-ro`, socketMode: 0o600, readOnlySocketMode: 0o600,
    maxClients: 4, idleTimeout: 0, log: (l) => logs.push(l),
  }, () => undefined);
  await server.start();
  return { server, socketPath, running, release, logs };
}

test('a call that has not finished holds up no other call, of another client or of its own', async () => {
  const tmp = await makeTempDir('snapvirtd-conc-');
  const s = await heldServer(tmp.path);
  try {
    const a = await RpcTestClient.connect(s.socketPath);
    const b = await RpcTestClient.connect(s.socketPath);
    await a.open('test:///default');
    await b.open('test:///default');
    let answered = false;
    const held = a.call(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, null).then((r) => { answered = true; return r; });
    await s.running;
    assert.deepEqual(await b.call(P.REMOTE_PROC_CONNECT_GET_TYPE, null), { type: 'TEST' });
    assert.deepEqual((await a.call(P.REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, { need_results: 0, flags: 0 })).ret, 1);
    assert.equal(answered, false);
    s.release();
    assert.deepEqual(await held, { hostname: 'held' });
    a.end();
    b.end();
  } finally {
    s.release();
    await s.server.stop();
    await tmp.cleanup();
  }
});

test('stop: the running call finishes and is answered, a new call is refused, then the server is gone', async () => {
  const tmp = await makeTempDir('snapvirtd-stop-');
  const { server, socketPath, running, release, logs } = await heldServer(tmp.path);
  try {
    const c = await RpcTestClient.connect(socketPath);
    await c.open('test:///default');
    const slow = c.call(P.REMOTE_PROC_CONNECT_GET_HOSTNAME, null);
    await running;
    let stopped = false;
    const stopping = server.stop().then(() => { stopped = true; });
    await assert.rejects(c.call(P.REMOTE_PROC_CONNECT_GET_TYPE, null), /^Error: the daemon is stopping and takes no new calls$/);
    assert.equal(stopped, false, 'the stop waits for the running call');
    assert.ok(!existsSync(socketPath), 'no new clients once stopping');
    release();
    assert.deepEqual(await slow, { hostname: 'held' });
    await stopping;
    await c.closed;
    assert.deepEqual(logs, []);
  } finally {
    release();
    await server.stop();
    await tmp.cleanup();
  }
});
