/**
 * A recording proxy for libvirt RPC traffic, used to capture the test fixtures in
 * test/fixtures/rpc/: `node dist/scripts/rpc-record.js LISTEN_SOCKET UPSTREAM_SOCKET OUT.jsonl`
 * listens on LISTEN_SOCKET, forwards each client to UPSTREAM_SOCKET (a libvirtd), and
 * appends every whole frame to OUT.jsonl as {"dir":"client"|"server","hex":…}, one connection
 * after another. Stop it with SIGTERM.
 */
import { appendFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { FrameSplitter } from '../src/rpc/frame-splitter.js';

const [listenPath, upstreamPath, outFile] = process.argv.slice(2);
if (!listenPath || !upstreamPath || !outFile) {
  process.stderr.write('usage: rpc-record LISTEN_SOCKET UPSTREAM_SOCKET OUT.jsonl\n');
  process.exit(2);
}

function record(dir: 'client' | 'server', frames: Buffer[]): void {
  for (const f of frames) appendFileSync(outFile, `${JSON.stringify({ dir, hex: f.toString('hex') })}\n`);
}

rmSync(listenPath, { force: true });
const server = createServer((client) => {
  const upstream = createConnection(upstreamPath);
  const fromClient = new FrameSplitter();
  const fromServer = new FrameSplitter();
  client.on('data', (chunk: Buffer) => { record('client', fromClient.push(chunk)); upstream.write(chunk); });
  upstream.on('data', (chunk: Buffer) => { record('server', fromServer.push(chunk)); client.write(chunk); });
  client.on('close', () => upstream.end());
  upstream.on('close', () => client.end());
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(listenPath);
process.on('SIGTERM', () => { server.close(); process.exit(0); });
