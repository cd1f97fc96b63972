/**
 * The orderly stop of snapvirtd's server, step by step: a call still running when the stop
 * begins is answered when it finishes, a call that arrives meanwhile is refused with an
 * RPC error, and the stop completes only then. The server, sockets and dispatcher are the
 * daemon's own; one procedure's handler is the test's, so the test decides when the
 * running call ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { connectHandlers } from '../../src/daemon/connect-handlers.js';
import { RpcServer } from '../../src/daemon/rpc-server.js';
import { remoteProcedures as P } from '../../src/rpc/generated/remote-protocol.js';
import { REMOTE } from '../../src/rpc/programs.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { RpcTestClient } from '../helpers/rpc-test-client.js';

test('stop: the running call finishes and is answered, a new call is refused, then the server is gone', async () => {
  const tmp = await makeTempDir('snapvirtd-stop-');
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  let started!: () => void;
  const running = new Promise<void>((r) => { started = r; });
  const handlers = new Map([[REMOTE.prog, {
    ...connectHandlers,
    REMOTE_PROC_CONNECT_GET_HOSTNAME: async () => { started(); await held; return { hostname: 'after the stop began' }; },
  }]]);
  const logs: string[] = [];
  const socketPath = join(tmp.path, 'sock');
  const server = new RpcServer(new Dispatcher(handlers as never, (l) => logs.push(l)), {
    socketPath, readOnlySocketPath: `${socketPath}-ro`, socketMode: 0o600, readOnlySocketMode: 0o600,
    maxClients: 4, idleTimeout: 0, log: (l) => logs.push(l),
  }, () => undefined);
  try {
    await server.start();
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
    assert.deepEqual(await slow, { hostname: 'after the stop began' });
    await stopping;
    await c.closed;
    assert.deepEqual(logs, []);
  } finally {
    release();
    await server.stop();
    await tmp.cleanup();
  }
});
