/**
 * Revert by switching QEMU processes, all or nothing including the run state: for a
 * running domain (or one --running/--paused starts) reverted to a snapshot without an
 * internal machine state (disk-only, shut-off, or external memory).
 *
 * Everything the new machine needs is prepared while the old QEMU keeps running, its
 * vCPUs untouched: fresh images for the snapshot's disks (an empty overlay on each image
 * an external snapshot froze; for an internal disk snapshot, a copy of the tag's data,
 * read with force-share since the old QEMU holds the image), then a new QEMU started on
 * them, paused (-S), or waiting for the memory file (-incoming) which is then loaded. The
 * images the new QEMU shares with the old one are only backing files, opened read-only
 * by both, which QEMU's image locking allows. Only then the switch: a durable marker,
 * then the old QEMU is stopped (SIGTERM: it flushes its images). The metadata commit
 * follows, and after it the new QEMU's vCPUs start when the domain ends running.
 *
 * Any failure before the switch kills the new QEMU and removes what was prepared: the old
 * QEMU never noticed. A crash is finished by recovery (active-revert-resources.ts) on the side
 * the marker says.
 */
import { nvramResetSteps, nvramRestoreSteps } from '../../firmware/nvram-snapshot.js';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { cloneDomainDef } from '../../../../conf/domain-xml.js';
import type { DomainDef } from '../../../../conf/domain-types.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import type { SnapshotTree } from '../../../../snapshot/snapshot-tree.js';
import type { Store } from '../../../../store/index.js';
import { fsyncFile, runOperation, writeFileDurable, type DomainLock, type Resource, type Step, type TxnContext } from '../../../../txn/index.js';
import type { DomainRef } from '../../../driver.js';
import { checkImageFileType } from '../../images/image-file-open.js';
import { discardableImages, warnKept } from '../../images/image-reachability.js';
import { loadMemoryFromFile } from '../../qmp/memory-migration.js';
import { QemuProcess, isQemuRunningIn, terminateQemuIn } from '../../domain/qemu-process.js';
import { qmpErrorToVirError } from '../../qmp/qmp-errors.js';
import { revertedImages } from './revert-inactive.js';
import { claimNewFile, createOverlayFile, removeFileIfPresent } from '../../images/overlay-file.js';
import { imageInfo, runQemuImg } from '../../images/qemu-img.js';
import { forgetMonitor, withMonitor } from '../../qmp/domain-monitor.js';
import { alternateRuntimeDir, runtimeDirFor, type DomainRuntime } from '../../domain/active-runtime.js';
import { tpmStateDirFor } from '../../tpm/swtpm-process.js';
import { tpmRestoreSteps } from '../../tpm/tpm-snapshot.js';
import { planTpmGeneration } from '../../tpm/tpm-generation.js';
import { tpmOf } from '../../domain/devices/tpm.js';
import {
  LIVE_REVERT, REVERT_PROCESS, REVERT_RUN_STATE, commitLiveRevert, revertIntentJson, type LiveRevertIntent, type RevertEndState,
} from '../../journal/active-revert-resources.js';
import { domainRecordXml } from '../../catalog/snapshot-catalog.js';
import { pathExists } from '../../images/path-exists.js';
import { pointDiskAt } from '../../domain/point-disk.js';

const Q = VirErrorDomain.QEMU;

/** One prepared image of the new machine: the file, and how it is made. */
interface ImagePlan {
  target: string;
  path: string;
  make(): Promise<void>;
}

/** `<stem>.<snapshot>-revert<N>` next to `base`, N the first unused (and not taken by this revert). */
async function revertImagePath(base: string, snapshot: string, taken: Set<string>): Promise<string> {
  const file = basename(base);
  const dot = file.lastIndexOf('.');
  const stem = dot > 0 ? file.slice(0, dot) : file;
  for (let n = 1; ; n++) {
    const candidate = join(dirname(base), `${stem}.${snapshot}-revert${n}`);
    if (taken.has(candidate) || await pathExists(candidate)) continue;
    taken.add(candidate);
    return candidate;
  }
}

function cannotUse(path: string, err: unknown): unknown {
  return err instanceof VirError ? virError(VirErrorCode.OPERATION_FAILED, Q, `cannot use image '${path}': ${err.detail}`) : err;
}

/**
 * The images of the new machine, and `target` (the snapshot's definition) switched to
 * them. External disks get an empty overlay on the image the snapshot froze; internal
 * disks a copy of the tag's data on the image's own backing file (the image itself is
 * never changed: the old QEMU may hold it, and other images may read through it).
 */
async function planImages(snap: SnapshotDef, target: DomainDef): Promise<ImagePlan[]> {
  const taken = new Set<string>();
  const plans: ImagePlan[] = [];
  for (const sd of snap.disks) {
    if (sd.snapshot !== 'external' && sd.snapshot !== 'internal') continue;
    const disk = target.disks.find((d) => d.target === sd.name);
    if (!disk?.sourcePath) throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, `disk '${sd.name}' of snapshot '${snap.name}' has no source`);
    const image = disk.sourcePath;
    const format = disk.format ?? 'raw';
    // Read-only and force-share: the running QEMU may have the image open. Never a FIFO or device.
    await checkImageFileType(image, { allowBlock: disk.type === 'block' }).catch((e: unknown) => { throw cannotUse(image, e); });
    const info = await imageInfo(image, sd.snapshot === 'internal' ? 'qcow2' : format, { forceShare: true }).catch((e: unknown) => {
      throw cannotUse(image, e);
    });
    const path = await revertImagePath(image, snap.name, taken);
    if (sd.snapshot === 'external') {
      plans.push({ target: sd.name, path, make: () => createOverlayFile(path, { path: image, format }) });
    } else {
      if (!info.snapshots.some((s) => s.name === snap.name)) {
        throw virError(VirErrorCode.OPERATION_FAILED, Q, `image '${image}' of disk '${sd.name}' has no internal snapshot '${snap.name}'`);
      }
      const backing = info.fullBackingFilename !== undefined && info.backingFormat !== undefined
        ? { path: resolve(info.fullBackingFilename), format: info.backingFormat } : undefined;
      plans.push({ target: sd.name, path, make: () => copyInternalSnapshot(path, image, snap.name, backing) });
    }
    pointDiskAt(disk, path, 'qcow2');
  }
  return plans;
}

/**
 * A new qcow2 image at `path` (0600, never over an existing file) holding what internal
 * snapshot `tag` of `image` presents. The tag's clusters are never rewritten while the tag
 * exists, so reading them while a QEMU writes the image's active layer is consistent.
 */
async function copyInternalSnapshot(path: string, image: string, tag: string, backing?: { path: string; format: string }): Promise<void> {
  // The same O_EXCL claim as every image snapvirt creates: an existing file is never ours.
  await claimNewFile(path);
  try {
    const args = ['convert', '-q', '-U', '-f', 'qcow2', '-O', 'qcow2', '-l', `snapshot.name=${tag.replace(/,/g, ',,')}`];
    if (backing) args.push('-B', backing.path, '-F', backing.format);
    args.push(image, path);
    await runQemuImg(args);
    fsyncFile(path);
  } catch (err) {
    await removeFileIfPresent(path);
    throw err;
  }
}

/** What {@link revertBySwitchingProcess} needs. */
export interface ProcessRevert {
  dom: DomainRef;
  snap: SnapshotDef;
  tree: SnapshotTree;
  /** The definition the current state runs with (live when running, else persistent). */
  current: DomainDef;
  /** The running QEMU (null: the domain is shut off). */
  old: DomainRuntime | null;
  end: RevertEndState;
  /** --reset-nvram: a QEMU the revert starts gets the NVRAM template, not the snapshot's copy. */
  resetNvram?: boolean;
}

/** The runtime directory for the new QEMU: never the old one's, which is still in use. */
function newRuntimeDirFor(store: Store, uuid: string, old: DomainRuntime | null): string {
  const primary = runtimeDirFor(store.stateDir, uuid);
  return old?.runtimeDir === primary ? alternateRuntimeDir(primary) : primary;
}

/** A checked revert by a new QEMU, ready to run (alone, or as one member of a group's revert). */
export interface PlannedProcessRevert {
  intent: LiveRevertIntent;
  /** Each new image, then the new QEMU's start (paused, or loading the memory state). */
  steps: Step[];
  /** Post-commit: the new QEMU's run state (none when the domain ends shut off). */
  runState: Resource[];
  /** Post-commit: removing the files the reverted-away state alone used. */
  removals: Resource[];
  touches: string[];
  warnKept(): void;
}

/**
 * Every check of a revert by a new QEMU and its plan; nothing is changed. `switchMarker`
 * is the file written just before the old QEMU is stopped (the caller's: a group shares one).
 */
export async function planProcessRevert(ctx: TxnContext, r: ProcessRevert, switchMarker: string | null): Promise<PlannedProcessRevert> {
  const { store } = ctx;
  const { dom, snap, old, end } = r;
  if (!snap.domain) throw virError(VirErrorCode.SNAPSHOT_REVERT_RISKY, Q, `snapshot '${snap.name}' lacks domain '${dom.name}' rollback info`);
  const memFile = snap.memory?.snapshot === 'external' ? snap.memory.file : undefined;
  if (snap.memory?.snapshot === 'external' && (!memFile || !(await pathExists(memFile)))) {
    throw virError(VirErrorCode.OPERATION_INVALID, Q, `memory state file of snapshot '${snap.name}' is missing: ${memFile ?? '(none)'}`);
  }
  const target = cloneDomainDef(snap.domain);
  const images = await planImages(snap, target);
  const plan = await discardableImages(store, dom.uuid, { domain: r.current, tree: r.tree }, { domain: target, tree: r.tree }, { probeLocks: false });
  const discarded = plan.discard;
  const newRuntimeDir = end === 'shutoff' ? null : newRuntimeDirFor(store, dom.uuid, old);
  // A running swtpm holds the TPM state until the switch: the reverted TPM is a new generation of it (tpm-generation.ts).
  const tpmGeneration = old && tpmOf(target) ? planTpmGeneration(store.stateDir, dom.uuid, snap.name) : undefined;
  const intent: LiveRevertIntent = {
    mode: 'new-process', snapshot: snap.name, end,
    oldRuntimeDir: old?.runtimeDir ?? null, newRuntimeDir, keptRuntime: null,
    targetXml: domainRecordXml(target), switchMarker: old ? switchMarker : null,
    created: images.map((i) => i.path), discarded,
    ...tpmGeneration ? { tpmFlip: tpmGeneration.flip } : {},
  };

  const steps: Step[] = images.map((img) => ({
    name: `image.${img.target}`,
    resources: [{ kind: 'file-created', path: img.path }],
    do: () => img.make(),
  }));
  // Before the new QEMU starts: it reads the variable store once, at start.
  steps.push(...(r.resetNvram && newRuntimeDir !== null ? nvramResetSteps(target) : nvramRestoreSteps(store.stateDir, dom.uuid, target, snap.name)));
  // The TPM state too: in place when no swtpm runs on it, else as a new generation.
  steps.push(...tpmGeneration ? [tpmGeneration.step] : tpmRestoreSteps(store.stateDir, dom.uuid, target, snap.name));
  if (newRuntimeDir !== null) {
    steps.push(await startStep(target, newRuntimeDir, memFile, tpmGeneration?.dir ?? tpmStateDirFor(store.stateDir, dom.uuid)));
  }
  return {
    intent, steps, touches: revertedImages(snap),
    runState: newRuntimeDir === null ? [] : [{ kind: REVERT_RUN_STATE, runtimeDir: newRuntimeDir, end }],
    removals: [...discarded.map((path) => ({ kind: 'qemu-removed-file', path })), ...tpmGeneration ? [tpmGeneration.obsolete] : []],
    warnKept: () => warnKept(ctx.warn, `revert of domain '${dom.name}' to snapshot '${snap.name}'`, plan),
  };
}

/** The step starting the new QEMU on the reverted state, paused (or loading `memFile`). */
async function startStep(target: DomainDef, newRuntimeDir: string, memFile: string | undefined, tpmStateDir: string): Promise<Step> {
  const removeDir = !(await pathExists(newRuntimeDir));
  return {
    name: 'start',
    resources: [{ kind: REVERT_PROCESS, runtimeDir: newRuntimeDir, removeDir }],
    async do() {
      // Under the lock, a QEMU there is the orphan of an interrupted start: never ours to keep.
      if (await isQemuRunningIn(newRuntimeDir)) await terminateQemuIn(newRuntimeDir, 0);
      await mkdir(dirname(newRuntimeDir), { recursive: true, mode: 0o700 });
      const proc = await QemuProcess.start({ def: target, runtimeDir: newRuntimeDir, paused: true, incoming: memFile !== undefined, tpmStateDir });
      await proc.qmp.close().catch(() => undefined);
      if (memFile === undefined) return;
      try {
        await withMonitor(newRuntimeDir, (qmp) => loadMemoryFromFile(qmp, newRuntimeDir, memFile));
      } catch (err) {
        throw qmpErrorToVirError(err);
      }
    },
  };
}

/** A fresh switch marker beside the runtime directory `oldRuntimeDir` (for `uuid`). */
export function switchMarkerFor(oldRuntimeDir: string, uuid: string): string {
  return join(dirname(oldRuntimeDir), `${uuid}.switch-${randomBytes(6).toString('hex')}`);
}

/** Reverts by preparing a new QEMU (or none, when the domain ends shut off) and switching to it. The caller holds the lock. */
export async function revertBySwitchingProcess(ctx: TxnContext, lock: DomainLock, r: ProcessRevert): Promise<void> {
  const { dom, old } = r;
  const switchMarker = old ? switchMarkerFor(old.runtimeDir, dom.uuid) : null;
  const planned = await planProcessRevert(ctx, r, switchMarker);
  const { intent } = planned;
  await runOperation(ctx, lock, {
    kind: LIVE_REVERT,
    domain: { uuid: dom.uuid, name: dom.name },
    intent: revertIntentJson(intent),
    steps: planned.steps,
    switch: old ? () => stopOldProcesses([old.runtimeDir], switchMarker!, ctx.warn) : undefined,
    commit: (s) => commitLiveRevert(s, dom.uuid, intent),
    touches: planned.touches,
    finalize: [...planned.runState, ...switchMarker === null ? [] : [{ kind: 'file-obsolete', path: switchMarker }], ...planned.removals],
  });
  planned.warnKept();
}

/**
 * The switch: the marker first (durable: from here on recovery goes forward), then each
 * old QEMU is stopped, gracefully so its images are flushed. Past the marker nothing may
 * throw: a failure would be taken for "the switch did not happen" and roll back under a
 * stopped domain. So a failure there (`afterEach`, a test hook after each stop, is the
 * only code that can throw) is warned about and the remaining QEMUs are still stopped:
 * the revert goes forward in this process, as recovery would take it.
 */
export async function stopOldProcesses(
  runtimeDirs: readonly string[], marker: string, warn: (message: string) => void, afterEach?: () => void,
): Promise<void> {
  try {
    writeFileDurable(marker, `${runtimeDirs.join('\n')}\n`, 0o600);
  } catch (err) {
    // Not durable, so not decided: the rollback follows, and no marker may outlive it.
    await rm(marker, { force: true }).catch(() => undefined);
    throw err;
  }
  for (const runtimeDir of runtimeDirs) {
    forgetMonitor(runtimeDir);
    try {
      await terminateQemuIn(runtimeDir, 5000);
    } catch {
      // terminateQemuIn ends with SIGKILL; recovery finishes it off again if it survived.
    }
    await rm(join(runtimeDir, 'incoming.sock'), { force: true }).catch(() => undefined);
    try {
      afterEach?.();
    } catch (err) {
      warn(`the revert is decided (its switch marker is written), so it goes on: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
