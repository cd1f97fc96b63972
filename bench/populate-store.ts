/**
 * Fills a snapvirt qemu:///session store with many snapshot records in one SQLite
 * transaction, so "10,000 snapshots" takes seconds to set up instead of 10,000 CLI runs.
 * The XML of each record is the domain's real first snapshot, renamed and re-parented,
 * so it is exactly what the driver itself stores.
 */
import { parseSnapshotXML } from '../src/conf/snapshot-xml.js';
import { openStore } from '../src/store/index.js';
import { snapshotRecordXml } from '../src/drivers/qemu/catalog/snapshot-catalog.js';
import { parentOf, snapName, type TreeShape } from './test-node-file.js';
import { ensureXmlParser } from '../src/conf/xml-parse.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

/**
 * Adds s2 … s`count` under the existing s1 of `domainName`, as a chain (deep) or all as
 * children of s1 (wide); the last becomes current.
 */
export async function populateQemuStore(stateDir: string, domainName: string, count: number, shape: TreeShape = 'deep'): Promise<void> {
  const store = openStore(stateDir);
  try {
    const dom = store.domains.getByName(domainName);
    if (!dom) throw new Error(`no domain ${domainName} in ${stateDir}`);
    const first = store.snapshots.get(dom.uuid, snapName(1));
    if (!first) throw new Error(`domain ${domainName} has no snapshot s1 to copy`);
    const { def } = parseSnapshotXML(first.xml, { redefine: true });
    const t0 = def.creationTime ?? Math.floor(Date.now() / 1000);
    store.transaction(() => {
      for (let i = 2; i <= count; i++) {
        def.name = snapName(i);
        def.parent = snapName(parentOf(i, shape)!);
        def.creationTime = t0 + i;
        store.snapshots.insert({
          domainUuid: dom.uuid, name: def.name, xml: snapshotRecordXml(def), parent: def.parent, isCurrent: i === count,
        });
      }
    });
  } finally {
    store.close();
  }
}
