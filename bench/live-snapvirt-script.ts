/**
 * snapvirt's live atomic disk-only snapshot as one process, on the driver path users run:
 * connect to qemu:///session (SNAPVIRT_STATE_DIR), look the running domain up and
 * `snapshotCreateXML(DISK_ONLY | ATOMIC)`: checks, lock, journal, overlays, blockdev-add,
 * one transaction, commit. It times the `transaction` command's round trip (the
 * guest-visible pause) by wrapping QmpClient.execute in this process, the same client
 * object the driver uses; nothing in src/ is changed for it.
 *
 * argv: DOMAIN SNAPSHOT-NAME. Prints {"totalMs":…,"transactionMs":…} as JSON.
 */
import { connect, SnapshotCreateFlags as C } from '../src/index.js';
import { QmpClient } from '../src/drivers/qemu/qmp/qmp-client.js';

const t0 = performance.now();
const [domainName, snapshotName] = process.argv.slice(2);
if (!domainName || !snapshotName) throw new Error('usage: live-snapvirt-script DOMAIN SNAPSHOT-NAME');

const transactions: number[] = [];
const execute = QmpClient.prototype.execute;
QmpClient.prototype.execute = async function timed(this: QmpClient, ...args: Parameters<QmpClient['execute']>): Promise<unknown> {
  if (args[0] !== 'transaction') return execute.apply(this, args);
  const started = performance.now();
  try {
    return await execute.apply(this, args);
  } finally {
    transactions.push(performance.now() - started);
  }
};

const conn = await connect('qemu:///session');
try {
  const dom = await conn.domainLookupByName(domainName);
  await dom.snapshotCreateXML(`<domainsnapshot><name>${snapshotName}</name></domainsnapshot>`, C.DISK_ONLY | C.ATOMIC);
} finally {
  await conn.close();
}
if (transactions.length !== 1) throw new Error(`expected one transaction, saw ${transactions.length}`);
process.stdout.write(`${JSON.stringify({ totalMs: performance.now() - t0, transactionMs: transactions[0] })}\n`);
