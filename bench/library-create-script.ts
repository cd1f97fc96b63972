/**
 * snapvirt as a Node library in one warm process, the way a management tool that keeps
 * its process (a CI runner, a hosting panel's backend) uses it: connect to
 * qemu:///session once, create one untimed snapshot, then time each `snapshotCreateXML`
 * on the domain: the whole driver path (store, journal with fsync, lock, overlays or
 * qemu-img, QMP for a running domain) without Node's start-up and module loading.
 *
 * argv: DOMAIN FLAGS NAME-PREFIX RUNS (state from SNAPVIRT_STATE_DIR). Prints the times
 * in milliseconds as a JSON array.
 */
import { connect } from '../src/index.js';

const [domainName, flagsText, prefix, runsText] = process.argv.slice(2);
if (!domainName || !flagsText || !prefix || !runsText) throw new Error('usage: DOMAIN FLAGS NAME-PREFIX RUNS');
const flags = Number(flagsText);
const conn = await connect('qemu:///session');
try {
  const dom = await conn.domainLookupByName(domainName);
  const create = (name: string): Promise<unknown> => dom.snapshotCreateXML(`<domainsnapshot><name>${name}</name></domainsnapshot>`, flags);
  await create(`${prefix}-warm-up`);
  const times: number[] = [];
  for (let i = 0; i < Number(runsText); i++) {
    const t0 = performance.now();
    await create(`${prefix}${i}`);
    times.push(performance.now() - t0);
  }
  process.stdout.write(JSON.stringify(times));
} finally {
  await conn.close();
}
