/**
 * snapvirt's group snapshot, or one domain's live snapshot, as one process on the driver
 * path users run (qemu:///session, SNAPVIRT_STATE_DIR), timing what each guest sees. It
 * wraps QmpClient in this process (nothing in src/ is changed for it): `connect` to learn
 * which QEMU each client talks to, `execute` to time commands.
 *
 * - `group NAME DOMAIN...`: groupSnapshotCreateXML(DISK_ONLY) of the running domains. A
 *   member's guest-visible pause runs from the `stop` of its vCPUs being sent to the reply
 *   to its `cont` (the group stops each guest and switches its QEMU, all at once, and
 *   resumes every guest once all have switched; the commit comes after).
 * - `single DOMAIN NAME`: snapshotCreateXML(DISK_ONLY | ATOMIC) of one running domain; its
 *   pause is the `transaction` command's round trip (QEMU drains and blocks guest I/O for
 *   it; the vCPUs are not stopped), as bench/live-snapvirt-script.ts measures it.
 *
 * Prints {"totalMs":…,"pausesMs":[…],"transactionsMs":[…]} as JSON (pauses in the order
 * the guests were resumed).
 */
import { connect, SnapshotCreateFlags as C } from '../src/index.js';
import { QmpClient } from '../src/drivers/qemu/qmp/qmp-client.js';

const t0 = performance.now();
const [mode, ...rest] = process.argv.slice(2);
const usage = 'usage: group-snapvirt-script group NAME DOMAIN... | single DOMAIN NAME';
if ((mode !== 'group' || rest.length < 2) && (mode !== 'single' || rest.length !== 2)) throw new Error(usage);

/** The monitor socket each client was connected to. */
const socketOf = new WeakMap<QmpClient, string>();
const connectClient = QmpClient.connect.bind(QmpClient);
QmpClient.connect = async (...args: Parameters<typeof QmpClient.connect>): Promise<QmpClient> => {
  const client = await connectClient(...args);
  socketOf.set(client, args[0]);
  return client;
};

const stoppedAt = new Map<string, number>();
const pauses: number[] = [];
const transactions: number[] = [];
const execute = QmpClient.prototype.execute;
QmpClient.prototype.execute = async function timed(this: QmpClient, ...args: Parameters<QmpClient['execute']>): Promise<unknown> {
  const socket = socketOf.get(this) ?? 'unknown';
  const started = performance.now();
  if (args[0] === 'stop') stoppedAt.set(socket, started);
  try {
    return await execute.apply(this, args);
  } finally {
    const now = performance.now();
    if (args[0] === 'transaction') transactions.push(now - started);
    if (args[0] === 'cont' && stoppedAt.has(socket)) {
      pauses.push(now - stoppedAt.get(socket)!);
      stoppedAt.delete(socket);
    }
  }
};

const conn = await connect('qemu:///session');
try {
  if (mode === 'group') {
    const [name, ...domains] = rest;
    const doms = await Promise.all(domains.map((d) => conn.domainLookupByName(d)));
    await conn.groupSnapshotCreateXML(doms, `<groupsnapshot><name>${name}</name></groupsnapshot>`, C.DISK_ONLY);
    if (pauses.length !== doms.length) throw new Error(`expected ${doms.length} stop…cont windows, saw ${pauses.length}`);
  } else {
    const [domain, name] = rest;
    await (await conn.domainLookupByName(domain!)).snapshotCreateXML(`<domainsnapshot><name>${name}</name></domainsnapshot>`, C.DISK_ONLY | C.ATOMIC);
    if (transactions.length !== 1) throw new Error(`expected one transaction, saw ${transactions.length}`);
    pauses.push(transactions[0]!);
  }
} finally {
  await conn.close();
}
process.stdout.write(`${JSON.stringify({ totalMs: performance.now() - t0, pausesMs: pauses, transactionsMs: transactions })}\n`);
