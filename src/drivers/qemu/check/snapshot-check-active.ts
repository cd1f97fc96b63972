/**
 * snapshot-check for a running domain: the block graph QEMU really uses (query-block per
 * disk, query-named-block-nodes for every node) against the metadata's active chain (the
 * running definition's disk sources and the backing chains on disk). A difference means
 * someone changed the graph outside snapvirt (a blockdev-snapshot through
 * qemu-monitor-command, say) or a live operation left a node attached: snapshots taken,
 * reverted or deleted from here would work on the wrong images.
 */
import { resolve } from 'node:path';
import type { DomainDef } from '../../../conf/domain-types.js';
import { readActiveChain, type ActiveDiskChain } from '../qmp/active-chain.js';
import { expectArray, isJsonObject, optionalString } from '../qmp/qmp-json.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import type { FindingList } from './snapshot-check-disks.js';
import type { ImageInspector } from './snapshot-check-images.js';

/**
 * Node names snapvirt gives disk layers (qmp/disk-node-names.ts; `-cN`: a backing layer a
 * merge reopened, qmp/explicit-chain.ts) and a merge's undo and restore images (qmp/undoable-commit.ts).
 */
const DRIVER_NODE = /^(?:drive-[a-z][a-z0-9]*(?:-[gc][0-9]+)?|undo-[a-z][a-z0-9]*|restore-[a-z][a-z0-9]*)-(?:fmt|file)$/;

interface NamedNode {
  name: string;
  file: string;
}

function arrow(files: string[]): string {
  return files.join(' -> ');
}

/**
 * Compares running domain's QEMU (runtime dir `runtimeDir`) with its running definition
 * `live`; returns every file QEMU has open, which nothing may remove.
 */
export async function checkRunningGraph(
  runtimeDir: string, live: DomainDef, images: ImageInspector, findings: FindingList,
): Promise<Set<string>> {
  const { chains, nodes } = await withMonitor(runtimeDir, async (qmp) => {
    const chains = await readActiveChain(qmp);
    const reply = await qmp.execute('query-named-block-nodes', { flat: true });
    const nodes: NamedNode[] = [];
    for (const n of expectArray(reply, 'query-named-block-nodes')) {
      if (!isJsonObject(n)) continue;
      const name = optionalString(n, 'node-name');
      const file = optionalString(n, 'file');
      if (name !== undefined && file !== undefined) nodes.push({ name, file });
    }
    return { chains, nodes };
  });

  const byTarget = new Map<string, ActiveDiskChain>();
  for (const c of chains) if (c.target !== undefined) byTarget.set(c.target, c);
  const inUse = new Set<string>();
  for (const c of chains) for (const layer of c.chain) inUse.add(resolve(layer.filename));

  for (const disk of live.disks) {
    if (!disk.sourcePath) continue;
    const source = resolve(disk.sourcePath);
    const running = byTarget.get(disk.target);
    const subject = `disk:${disk.target}`;
    if (!running) {
      findings.add({
        kind: 'qemu-graph', subject, repairable: false,
        message: `disk ${disk.target}: the running QEMU has no such disk (or no medium in it), but the metadata says it is '${source}'`,
      });
      continue;
    }
    const qemuChain = running.chain.map((l) => resolve(l.filename));
    if (qemuChain[0] !== source) {
      findings.add({
        kind: 'qemu-graph', subject, repairable: false,
        message: `disk ${disk.target}: the running QEMU writes to '${qemuChain[0] ?? running.file}' (chain ${arrow(qemuChain)}), but the metadata says the disk is '${source}'; the block graph was changed outside snapvirt, and snapshots taken now would not cover what the guest writes`,
      });
      continue;
    }
    const onDisk = (await images.chain(source, disk.format ?? 'raw')).map((l) => l.path);
    if (arrow(onDisk) !== arrow(qemuChain)) {
      findings.add({
        kind: 'qemu-graph', subject, repairable: false,
        message: `disk ${disk.target}: the running QEMU reads through ${arrow(qemuChain)}, but the images on disk chain as ${arrow(onDisk)}; QEMU and the files disagree about the disk's data`,
      });
    }
  }
  const known = new Set(live.disks.map((d) => d.target));
  for (const c of chains) {
    if (c.target === undefined || known.has(c.target)) continue;
    findings.add({
      kind: 'qemu-graph', subject: `disk:${c.target}`, repairable: false,
      message: `disk ${c.target}: the running QEMU has a disk on '${c.file}' that the metadata does not know`,
    });
  }
  for (const n of nodes) {
    if (!DRIVER_NODE.test(n.name) || inUse.has(resolve(n.file))) continue;
    findings.add({
      kind: 'qemu-graph', subject: `node:${n.name}`, repairable: false,
      message: `the running QEMU has block node '${n.name}' on '${n.file}' that no disk uses: a live operation left it attached`,
    });
  }
  return new Set([...inUse, ...nodes.map((n) => resolve(n.file))]);
}
