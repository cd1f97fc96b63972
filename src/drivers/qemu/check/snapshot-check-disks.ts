/**
 * snapshot-check's comparison of the metadata with the images on disk: every disk's
 * backing chain (the domain's current disks, the images each snapshot froze, each
 * external snapshot's overlay and its backing link), every internal snapshot's tag in each
 * image, the tags no metadata names, and the mode of the files snapvirt created.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { DomainDef } from '../../../conf/domain-types.js';
import type { SnapshotTree } from '../../../snapshot/snapshot-tree.js';
import type { SnapshotCheckFinding } from '../../snapshot-check-report.js';
import { backingPathOf, type ImageInspector, type ImageLayer } from './snapshot-check-images.js';
import { outcomeText, whyTemporaryTagStays, type TemporaryTagOrigin } from './snapshot-check-temporary-tags.js';

/** What the check knows about one domain. */
export interface CheckedDomain {
  uuid: string;
  name: string;
  persistent: DomainDef;
  /** The running definition, when the domain runs. */
  live: DomainDef | undefined;
  tree: SnapshotTree;
  /** Absolute paths of the files snapvirt created for the domain (domain-state.ts). */
  createdImages: Set<string>;
}

/** Findings, each reported once (by kind and subject), in the order found. */
export class FindingList {
  readonly #items: SnapshotCheckFinding[] = [];
  readonly #keys = new Set<string>();

  add(finding: SnapshotCheckFinding): void {
    const key = `${finding.kind}\0${finding.subject}`;
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    this.#items.push(finding);
  }

  all(): SnapshotCheckFinding[] { return [...this.#items]; }
}

/** Internal snapshot tags the metadata expects, by absolute image path. */
export type ExpectedTags = Map<string, Set<string>>;


function diskOf(def: DomainDef | undefined, target: string): DomainDef['disks'][number] | undefined {
  return def?.disks.find((d) => d.target === target);
}

/** Reports the missing or unreadable layers of a chain; `what` says whose chain it is. */
function reportBrokenLayers(layers: ImageLayer[], what: string, findings: FindingList): void {
  for (const [i, layer] of layers.entries()) {
    const role = i === 0 ? what : `backing file of '${layers[i - 1]!.path}' (${what})`;
    if (layer.missing) {
      findings.add({
        kind: 'image-missing', subject: layer.path, repairable: false,
        message: `image '${layer.path}' is missing: it is the ${role}; that data cannot be read`,
      });
    } else if (layer.problem !== undefined) {
      findings.add({
        kind: 'image-unreadable', subject: layer.path, repairable: false,
        message: `image '${layer.path}' cannot be read as ${layer.format}: it is the ${role}; ${layer.problem}`,
      });
    }
  }
}

/** Checks every chain and tag the metadata of `dom` expects; returns the expected tags. */
export async function checkDisks(dom: CheckedDomain, images: ImageInspector, findings: FindingList): Promise<ExpectedTags> {
  const expected: ExpectedTags = new Map();
  const expectTag = (image: string, tag: string): void => {
    const set = expected.get(image) ?? new Set<string>();
    set.add(tag);
    expected.set(image, set);
  };

  // The domain's current disks (and the running ones, which may differ while it runs).
  for (const [def, what] of [[dom.persistent, 'current disk'], [dom.live, 'running disk']] as const) {
    for (const disk of def?.disks ?? []) {
      if (!disk.sourcePath) continue;
      const layers = await images.chain(disk.sourcePath, disk.format ?? 'raw');
      reportBrokenLayers(layers, `${what} ${disk.target}`, findings);
    }
  }

  for (const node of dom.tree.topological()) {
    const snap = node.def;
    for (const sd of snap.disks) {
      if (sd.snapshot !== 'internal' && sd.snapshot !== 'external') continue;
      const frozen = diskOf(snap.domain, sd.name);
      const where = `snapshot '${snap.name}' disk ${sd.name}`;
      if (frozen?.sourcePath) {
        // The image the snapshot froze (external) or tagged (internal): reverting needs it.
        const layers = await images.chain(frozen.sourcePath, frozen.format ?? 'raw');
        reportBrokenLayers(layers, `image ${where} was taken of`, findings);
        if (sd.snapshot === 'internal') {
          const image = resolve(frozen.sourcePath);
          expectTag(image, snap.name);
          const info = layers[0]?.info;
          if (info && !info.snapshots.some((s) => s.name === snap.name)) {
            findings.add({
              kind: 'tag-missing', subject: `${image}:${snap.name}`, repairable: false,
              message: `${where}: image '${image}' has no internal snapshot '${snap.name}'; reverting to '${snap.name}' will fail and its data for this disk is lost`,
            });
          }
        }
      }
      if (sd.snapshot === 'external' && sd.sourcePath) await checkOverlay(dom, sd.sourcePath, frozen, where, images, findings);
    }
  }
  return expected;
}

/** An external snapshot's overlay: present, qcow2, on the image the snapshot froze, mode 0600 if ours. */
async function checkOverlay(
  dom: CheckedDomain, overlayPath: string, frozen: DomainDef['disks'][number] | undefined, where: string,
  images: ImageInspector, findings: FindingList,
): Promise<void> {
  const overlay = resolve(overlayPath);
  const layers = await images.chain(overlay, 'qcow2');
  const top = layers[0]!;
  if (top.missing) {
    findings.add({
      kind: 'image-missing', subject: overlay, repairable: false,
      message: `${where}: overlay '${overlay}' is missing; what was written after the snapshot on that branch is lost, and images built on it cannot be opened`,
    });
    return;
  }
  reportBrokenLayers(layers, `overlay of ${where}`, findings);
  if (top.info && frozen?.sourcePath) {
    const want = resolve(frozen.sourcePath);
    const wantFormat = frozen.format ?? 'raw';
    const got = backingPathOf(overlay, top.info);
    if (got !== want) {
      findings.add({
        kind: 'backing-mismatch', subject: overlay, repairable: false,
        message: got === undefined
          ? `${where}: overlay '${overlay}' has no backing file, but the metadata expects '${want}'; the disk does not present the data the snapshot recorded`
          : `${where}: overlay '${overlay}' is backed by '${got}', but the metadata expects '${want}'; the disk does not present the data the snapshot recorded`,
      });
    } else if (top.info.backingFormat !== wantFormat) {
      findings.add({
        kind: 'backing-mismatch', subject: overlay, repairable: false,
        message: `${where}: overlay '${overlay}' reads its backing file '${want}' as ${top.info.backingFormat ?? 'an unrecorded format (which snapvirt never probes)'}, but the metadata says ${wantFormat}; the data it presents may be wrong`,
      });
    }
  }
  if (dom.createdImages.has(overlay)) await checkMode(overlay, findings);
}

/** A file snapvirt created must stay 0600: it holds the guest's disk data. */
export async function checkMode(path: string, findings: FindingList): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return;
  const mode = st.mode & 0o777;
  if (mode === 0o600) return;
  findings.add({
    kind: 'file-mode', subject: path, repairable: false,
    message: `file '${path}' that snapvirt created has mode 0${mode.toString(8)}, not 0600; other users may be able to read the guest's disk data`,
  });
}

/**
 * Internal tags that no snapshot names, in every image read so far. `claimed` holds the
 * `image:tag` pairs other domains' metadata names, `claimedNames` the tags an interrupted
 * operation still needs (its journal entry covers them); `busy` the images a running
 * QEMU has open; `temporary` the tags closed journal entries record taking
 * (snapshot-check-temporary-tags.ts): only those are snapvirt's, whatever a tag's name.
 * Returns the temporary tags `--repair` may delete.
 */
export function checkUnreferencedTags(
  images: ImageInspector, expected: ExpectedTags, claimed: Set<string>, claimedNames: Set<string>, busy: Set<string>,
  temporary: Map<string, TemporaryTagOrigin>, findings: FindingList,
): Array<{ image: string; tag: string }> {
  const removable: Array<{ image: string; tag: string }> = [];
  for (const { path, info } of images.images()) {
    for (const s of info.snapshots) {
      if (expected.get(path)?.has(s.name) || claimed.has(`${path}:${s.name}`) || claimedNames.has(s.name)) continue;
      const subject = `${path}:${s.name}`;
      const origin = temporary.get(subject);
      if (origin) {
        // Deleting a tag writes the image: never under a QEMU that has it open.
        const why = whyTemporaryTagStays(origin)
          ?? (busy.has(path) ? 'the running QEMU has the image open; run the check again once the domain is shut off' : undefined);
        if (why === undefined) removable.push({ image: path, tag: s.name });
        findings.add({
          kind: 'tag-unreferenced', subject, repairable: why === undefined,
          message: `image '${path}' has internal snapshot '${s.name}' that no snapshot names: the temporary tag of a ${origin.kind} (journal entry ${origin.entryId}, ${outcomeText(origin.outcome)}), left behind`,
          ...(why === undefined ? {} : { reason: why }),
        });
      } else {
        findings.add({
          kind: 'tag-unreferenced', subject, repairable: false,
          message: `image '${path}' has internal snapshot '${s.name}' that no snapshot metadata names (made with --no-metadata or another tool, or its metadata was removed)`,
        });
      }
    }
  }
  return removable;
}
