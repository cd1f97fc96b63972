/**
 * The floor of a live atomic disk-only snapshot, as a stand-alone script (a process, like
 * the CLI it is compared with): create the overlays with qemu-img in parallel, blockdev-add
 * each with backing null, one transaction of blockdev-snapshot actions. No checks, no
 * journal, no fsync, no verification.
 *
 * argv: <qmp socket> <run tag> then triples <base node> <base file> <overlay file>.
 * Prints {"totalMs","transactionMs"} as JSON on stdout.
 */
import { execFile } from 'node:child_process';
import { FloorQmp } from './qmp-floor-client.js';

function qemuImgCreate(backing: string, overlay: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', 'qcow2', overlay],
      (err) => { if (err) reject(err); else resolve(); });
  });
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const [socketPath, tag, ...rest] = process.argv.slice(2);
  if (!socketPath || !tag || rest.length % 3 !== 0) throw new Error('usage: live-floor-script SOCKET TAG (NODE BASEFILE OVERLAY)...');
  const disks = Array.from({ length: rest.length / 3 }, (_, i) => ({
    node: rest[3 * i]!, base: rest[3 * i + 1]!, overlay: rest[3 * i + 2]!, overlayNode: `floor-${tag}-${i}`,
  }));
  const qmpReady = FloorQmp.connect(socketPath);
  await Promise.all(disks.map((d) => qemuImgCreate(d.base, d.overlay)));
  const qmp = await qmpReady;
  await Promise.all(disks.map((d) => qmp.execute('blockdev-add', {
    driver: 'qcow2', 'node-name': d.overlayNode,
    file: { driver: 'file', filename: d.overlay, 'node-name': `${d.overlayNode}-file` }, backing: null,
  })));
  const tx0 = performance.now();
  await qmp.execute('transaction', {
    actions: disks.map((d) => ({ type: 'blockdev-snapshot', data: { node: d.node, overlay: d.overlayNode } })),
  });
  const transactionMs = performance.now() - tx0;
  qmp.close();
  process.stdout.write(`${JSON.stringify({ totalMs: performance.now() - t0, transactionMs })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
