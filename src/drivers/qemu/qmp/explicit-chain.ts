/**
 * Making a running disk's chain reopenable. QEMU opens the backing layers an image's
 * header names by itself ("implicit" nodes, named `#blockNNN`) when a domain starts on an
 * overlay, and blockdev-reopen refuses such nodes. An undoable merge must reopen the layers
 * it works on (the base read-write, the overlay onto a filter), so those layers are first
 * replaced by nodes snapvirt names: one blockdev-add of the same files, read-only, with the
 * formats QEMU already uses (never a format read from a header), and one reopen of the
 * explicit layer above them. What the guest reads is unchanged; QEMU frees the implicit
 * nodes once nothing uses them.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { parseQueryBlock } from './active-chain.js';
import { formatNodeOf, namedNodes, type NodeInfo } from './block-commit.js';
import { checkDiskTarget } from './disk-node-names.js';
import type { QmpClient } from './qmp-client.js';
import type { JsonObject } from './qmp-json.js';

/** A layer of a running disk's chain, by its format node. */
export interface ChainNode {
  filename: string;
  format: string;
  /** The format node's name. */
  node: string;
  /** Its protocol node's name (snapvirt's convention: the format node's stem + `-file`). */
  fileNode: string;
  readOnly: boolean;
}

function failed(detail: string): Error {
  return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, detail);
}

/** True for a node QEMU named itself (opened from an image header). */
function isImplicit(node: string): boolean {
  return node.startsWith('#');
}

/** The protocol node of an explicit format node, by snapvirt's naming. */
export function fileNodeOf(node: string): string {
  return node.replace(/-fmt$/, '-file');
}

/** The disk's chain from its top down, with node names, as QEMU has it now. */
export async function readChainNodes(qmp: QmpClient, target: string): Promise<ChainNode[]> {
  const chain = parseQueryBlock(await qmp.execute('query-block')).find((c) => c.target === target);
  if (!chain) throw failed(`disk '${target}' is not attached to the running domain`);
  const nodes = await namedNodes(qmp);
  return chain.chain.map((layer, i) => {
    const node = i === 0 ? chain.nodeName : formatNodeOf(nodes, layer.filename);
    if (node === undefined) throw failed(`cannot find the block node of '${layer.filename}' in disk '${target}'`);
    return { filename: layer.filename, format: layer.format, node, fileNode: fileNodeOf(node), readOnly: nodeReadOnly(nodes, node) };
  });
}

function nodeReadOnly(nodes: NodeInfo[], node: string): boolean {
  return nodes.find((n) => n.name === node)?.ro ?? true;
}

/** A free name stem for an explicit layer of `target` (`drive-vda-c3`). */
function freeStem(taken: Set<string>, target: string): string {
  for (let i = 1; ; i++) {
    const stem = `drive-${target}-c${i}`;
    if (!taken.has(`${stem}-fmt`) && !taken.has(`${stem}-file`)) {
      taken.add(`${stem}-fmt`);
      return stem;
    }
  }
}

/**
 * Replaces the implicit layers of disk `target` from its top down to (and including) the
 * layer of file `downTo` with explicit ones; returns the chain as it then is. A chain that
 * is explicit that far is left alone.
 */
export async function makeChainExplicit(qmp: QmpClient, target: string, downTo: string): Promise<ChainNode[]> {
  checkDiskTarget(target);
  await dropUnusedLayers(qmp, target);
  const chain = await readChainNodes(qmp, target);
  const last = chain.findIndex((l) => l.filename === downTo);
  if (last === -1) throw failed(`'${downTo}' is not in the chain of disk '${target}'`);
  const first = chain.findIndex((l, i) => i <= last && isImplicit(l.node));
  if (first === -1) return chain;
  const nodes = await namedNodes(qmp);
  const taken = new Set(nodes.map((n) => n.name));
  const below = chain[last + 1];
  // Built bottom-up: each layer's backing is the one below it, the lowest keeps QEMU's node.
  let backing: JsonObject | string | null = below === undefined ? null : below.node;
  const stems: string[] = [];
  for (let i = last; i >= first; i--) {
    const layer = chain[i]!;
    const stem = freeStem(taken, target);
    stems.unshift(stem);
    const protocol = nodes.find((n) => n.file === layer.filename && (n.drv === 'file' || n.drv === 'host_device'))?.drv ?? 'file';
    const spec: JsonObject = {
      driver: layer.format,
      'node-name': `${stem}-fmt`,
      'read-only': true,
      // auto-read-only: a later reopen of this layer read-write (a merge's base) reopens its file too.
      file: { driver: protocol, filename: layer.filename, 'node-name': `${stem}-file`, 'auto-read-only': true },
    };
    if (layer.format === 'qcow2') spec.backing = backing;
    backing = spec;
  }
  // The top of the new layers is added with its whole chain at once, then linked under the layer above.
  await qmp.execute('blockdev-add', backing as JsonObject);
  const above = chain[first - 1]!;
  await reopenLayer(qmp, above, { backing: `${stems[0]!}-fmt` });
  return readChainNodes(qmp, target);
}

/**
 * Deletes the explicit layers of `target` nothing uses any more: left by a kill between
 * their blockdev-add and the reopen that links them in, or by a merge that took their
 * layer out. One that a layer above uses refuses the delete, and stays.
 */
async function dropUnusedLayers(qmp: QmpClient, target: string): Promise<void> {
  const pattern = new RegExp(`^drive-${target}-c[0-9]+-fmt$`);
  for (const n of await namedNodes(qmp)) {
    if (pattern.test(n.name)) await qmp.execute('blockdev-del', { 'node-name': n.name }).catch(() => undefined);
  }
}

/**
 * blockdev-reopen of an explicit layer with its options as they are, except `changes`. The
 * backing is always given (a reopen without it would reopen what the header names).
 */
export async function reopenLayer(qmp: QmpClient, layer: ChainNode, changes: { backing: string | null; readOnly?: boolean }): Promise<void> {
  if (isImplicit(layer.node)) throw failed(`block node '${layer.node}' of '${layer.filename}' cannot be reopened`);
  const options: JsonObject = {
    driver: layer.format,
    'node-name': layer.node,
    file: layer.fileNode,
    'read-only': changes.readOnly ?? layer.readOnly,
  };
  if (layer.format === 'qcow2') options.backing = changes.backing;
  await qmp.execute('blockdev-reopen', { options: [options] });
}
