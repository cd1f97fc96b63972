/**
 * snapvirt's live atomic disk-only snapshot as one process, standing in for the CLI until
 * the running-domain path of the qemu driver lands: attach to the domain's QEMU through
 * its runtime directory, plan (checks, node names), execute (overlays created and
 * fsynced, blockdev-add, one transaction, verification with query-block) with
 * src/drivers/qemu/live/*. No store or journal: those belong to the driver path.
 *
 * argv: <runtime dir> then pairs <target> <overlay file>. Prints the phase timings as JSON.
 */
import { QemuProcess } from '../src/drivers/qemu/live/qemu-process.js';
import { createLiveDiskSnapshot } from '../src/drivers/qemu/live/live-disk-snapshot.js';

async function main(): Promise<void> {
  const t0 = performance.now();
  const [runtimeDir, ...rest] = process.argv.slice(2);
  if (!runtimeDir || rest.length % 2 !== 0) throw new Error('usage: live-snapvirt-script RUNTIMEDIR (TARGET OVERLAY)...');
  const requests = Array.from({ length: rest.length / 2 }, (_, i) => ({ target: rest[2 * i]!, overlayPath: rest[2 * i + 1]! }));
  const proc = await QemuProcess.attach(runtimeDir);
  try {
    const result = await createLiveDiskSnapshot(proc.qmp, requests);
    await proc.qmp.close();
    process.stdout.write(`${JSON.stringify({ totalMs: performance.now() - t0, attachMs: proc.readyMs, ...result.timings })}\n`);
  } catch (err) {
    proc.qmp.destroy();
    throw err;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
