/**
 * The snapshots a node file gives a domain (<domainsnapshot> elements under its
 * <domain>), loaded as libvirt's test driver does: at most one current, every parent
 * present and no cycle, else the whole node file is refused.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import type { XmlElement } from '../../conf/xml-tree.js';
import type { SnapshotDef } from '../../conf/snapshot-types.js';
import type { TestDomainObj } from './test-domain-obj.js';

/** Loads a node file domain's <domainsnapshot> elements into `vm`, as testParseDomainSnapshots does. */
export function loadNodeSnapshots(
  vm: TestDomainObj,
  elements: XmlElement[],
  snapshotFromElement: (el: XmlElement) => { def: SnapshotDef; current: boolean },
): void {
  let current: string | undefined;
  for (const el of elements) {
    const parsed = snapshotFromElement(el);
    // libvirt's test driver has no save-cookie parser, so a <cookie> is dropped.
    delete parsed.def.cookie;
    vm.snapshots.assign(parsed.def);
    if (parsed.current) {
      if (current !== undefined) {
        throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.TEST, 'more than one snapshot claims to be active');
      }
      current = parsed.def.name;
    }
  }
  // A missing parent or a cycle anywhere makes the whole set inconsistent.
  let consistent = !hasParentCycle(vm);
  for (const node of vm.snapshots.all()) {
    const parent = node.def.parent;
    if (parent !== undefined && !vm.snapshots.has(parent)) consistent = false;
    vm.snapshots.linkParent(node.def.name);
  }
  if (!consistent) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.TEST,
      `Snapshots have inconsistent relations for domain ${vm.name}`);
  }
  vm.snapshots.setCurrent(current);
}

/**
 * True when following parents from some snapshot comes back to one already on the way.
 * One pass that remembers finished snapshots: walking every ancestry from scratch was
 * quadratic, seconds for a 10,000-deep chain.
 */
function hasParentCycle(vm: TestDomainObj): boolean {
  const onPath = 1;
  const finished = 2;
  const state = new Map<string, typeof onPath | typeof finished>();
  for (const node of vm.snapshots.all()) {
    const path: string[] = [];
    let name: string | undefined = node.def.name;
    while (name !== undefined && !state.has(name)) {
      state.set(name, onPath);
      path.push(name);
      name = vm.snapshots.find(name)?.def.parent;
    }
    if (name !== undefined && state.get(name) === onPath) return true;
    for (const done of path) state.set(done, finished);
  }
  return false;
}
