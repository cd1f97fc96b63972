/**
 * A child-process entry point for crash tests: opens qemu:///session on SNAPVIRT_STATE_DIR
 * and runs one snapshot operation, so SNAPVIRT_FAILPOINTS=…=crash can SIGKILL it mid-way.
 *
 *   node snapshot-op-child.js create <domain> <xml> <flags>
 *   node snapshot-op-child.js revert|delete <domain> <snapshot> <flags>
 *   node snapshot-op-child.js group-create <domain,domain,…> <groupsnapshot xml> <flags>
 *   node snapshot-op-child.js group-delete|group-revert - <group> <flags>
 */
import { connect } from '../../src/api/connection.js';

// `node --test dist/test/` also runs this file: without the marker it does nothing.
if (process.env.SNAPVIRT_CHILD_OP === '1') await main();

async function main(): Promise<void> {
  const [op, domainName, arg, flagsText] = process.argv.slice(2);
  const conn = await connect('qemu:///session');
  const flags = Number(flagsText ?? '0');
  if (op === 'group-delete' || op === 'group-revert') {
    const group = await conn.groupSnapshotLookupByName(arg!);
    await (op === 'group-delete' ? group.delete(flags) : group.revert(flags));
    await conn.close();
    return;
  }
  if (op === 'group-create') {
    const doms = await Promise.all(domainName!.split(',').map((n) => conn.domainLookupByName(n)));
    await conn.groupSnapshotCreateXML(doms, arg!, flags);
    await conn.close();
    return;
  }
  const dom = await conn.domainLookupByName(domainName!);
  if (op === 'create') await dom.snapshotCreateXML(arg!, flags);
  else if (op === 'revert') await (await dom.snapshotLookupByName(arg!)).revert(flags);
  else if (op === 'delete') await (await dom.snapshotLookupByName(arg!)).delete(flags);
  else throw new Error(`unknown op ${op}`);
  await conn.close();
}
