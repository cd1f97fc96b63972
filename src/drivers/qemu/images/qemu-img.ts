/**
 * A typed async wrapper around qemu-img for shut-off domains. Every call passes explicit
 * formats (-f, and -F for backing files) because probing a raw image is unsafe, and runs
 * qemu-img with an argument array, never through a shell. Failures become VirError with
 * qemu-img's own stderr text, so users see what qemu said.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { openImageFile } from './image-file-open.js';
import { readQcow2Header } from './qcow2-header.js';

/** The qemu-img binary; SNAPVIRT_QEMU_IMG lets tests and packagers point elsewhere. */
function qemuImgBinary(): string {
  return process.env.SNAPVIRT_QEMU_IMG || 'qemu-img';
}

/**
 * Refuses up front (step 1 of the atomic protocol) when qemu-img cannot be run at all:
 * an operation that needs it must not get past its commit point and then leave its
 * post-commit work (a merge, a tag removal) pending until qemu-img appears. Looks the
 * binary up as execvp would, without starting it.
 */
export async function requireQemuImg(): Promise<void> {
  const bin = qemuImgBinary();
  const candidates = bin.includes('/') ? [bin]
    : (process.env.PATH ?? '').split(delimiter).filter((d) => isAbsolute(d)).map((d) => join(d, bin));
  for (const candidate of candidates) {
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return;
  }
  throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `cannot run qemu-img ('${bin}'): not found or not executable`);
}

/** Output of one finished qemu-img run. */
export interface QemuImgResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Subcommands that only read an image's metadata: bounded by SNAPVIRT_QEMU_IMG_TIMEOUT_MS. */
const METADATA_SUBCOMMANDS = new Set(['info', 'map', 'check', 'measure', 'create']);

/**
 * How long qemu-img may run: metadata reads 120 s (SNAPVIRT_QEMU_IMG_TIMEOUT_MS), merges
 * and copies, whose time grows with the data, 24 h (SNAPVIRT_QEMU_IMG_DATA_TIMEOUT_MS).
 */
function qemuImgTimeoutMs(subcommand: string | undefined): number {
  const [name, fallback] = METADATA_SUBCOMMANDS.has(subcommand ?? '')
    ? ['SNAPVIRT_QEMU_IMG_TIMEOUT_MS', 120_000] as const
    : ['SNAPVIRT_QEMU_IMG_DATA_TIMEOUT_MS', 86_400_000] as const;
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/**
 * Runs qemu-img with `args`. Resolves with the output when the exit code is in `okCodes`
 * (default only 0), and throws a VirError carrying qemu-img's stderr otherwise, or saying
 * it was stopped after its time bound.
 */
export function runQemuImg(args: readonly string[], okCodes: readonly number[] = [0]): Promise<QemuImgResult> {
  const timeout = qemuImgTimeoutMs(args[0]);
  return new Promise((resolve, reject) => {
    execFile(qemuImgBinary(), [...args], { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', timeout, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err && (err as { killed?: boolean }).killed && err.signal === 'SIGKILL') {
        reject(virError(VirErrorCode.OPERATION_TIMEOUT, VirErrorDomain.QEMU,
          `qemu-img ${args[0] ?? ''} did not finish within ${timeout >= 1000 ? `${Math.round(timeout / 1000)} s` : `${timeout} ms`} and was stopped: ${args.at(-1) ?? ''}`));
        return;
      }
      const exitCode = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (okCodes.includes(exitCode)) {
        resolve({ stdout, stderr, exitCode });
        return;
      }
      reject(qemuImgError(args, exitCode, stderr, err));
    });
  });
}

/** Builds the VirError for a failed qemu-img run, keeping qemu-img's text for the user. */
function qemuImgError(args: readonly string[], exitCode: number, stderr: string, err: Error | null): VirError {
  const text = stderr.trim() || err?.message || 'unknown failure';
  // libvirt reports failed helper processes as internal errors carrying the child's output.
  const e = virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU,
    `qemu-img ${args[0] ?? ''} failed (exit ${exitCode}): ${text}`);
  return Object.assign(e, { qemuImgStderr: stderr, qemuImgExitCode: exitCode });
}

/** A backing file reference written into an overlay header. */
export interface BackingRef {
  /** Stored verbatim in the header; pass an absolute path so moving the overlay stays safe. */
  path: string;
  format: string;
}

/** Options for {@link createImage}. */
export interface CreateImageOptions {
  path: string;
  format: string;
  /** Virtual size in bytes; may be omitted with a backing file (the size is inherited). */
  sizeBytes?: number;
  backing?: BackingRef;
}

/** Creates an image (qemu-img create), optionally as an overlay of `backing`. */
export async function createImage(opts: CreateImageOptions): Promise<void> {
  const args = ['create', '-q', '-f', opts.format];
  if (opts.backing) args.push('-b', opts.backing.path, '-F', opts.backing.format);
  args.push(opts.path);
  if (opts.sizeBytes !== undefined) args.push(String(opts.sizeBytes));
  await runQemuImg(args);
}

/** One internal snapshot of a qcow2 image, from `qemu-img info --output=json`. */
export interface InternalSnapshotInfo {
  id: string;
  name: string;
  vmStateSize: number;
  dateSec: number;
}

/** What snapvirt needs from `qemu-img info --output=json`, for one image. */
export interface ImageInfo {
  filename: string;
  format: string;
  virtualSize: number;
  actualSize: number;
  /** The backing string as stored in the header (may be relative). */
  backingFilename?: string;
  /** The backing path resolved by qemu-img. */
  fullBackingFilename?: string;
  backingFormat?: string;
  snapshots: InternalSnapshotInfo[];
  dirty: boolean;
}

/**
 * Options for {@link imageInfo}. (No `--backing-chain`: qemu-img would probe a backing file
 * whose format its parent does not record; chain-inspect.ts walks chains instead.)
 */
export interface InfoOptions {
  /** -U: read without taking the shared lock, for images another process has open. */
  forceShare?: boolean;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

/** Converts one JSON object of qemu-img info into an ImageInfo. */
function toImageInfo(raw: unknown): ImageInfo {
  const o = (raw ?? {}) as Record<string, unknown>;
  const snaps = Array.isArray(o.snapshots) ? o.snapshots : [];
  return {
    filename: str(o.filename) ?? '',
    format: str(o.format) ?? '',
    virtualSize: num(o['virtual-size']),
    actualSize: num(o['actual-size']),
    backingFilename: str(o['backing-filename']),
    fullBackingFilename: str(o['full-backing-filename']),
    backingFormat: str(o['backing-filename-format']),
    dirty: o['dirty-flag'] === true,
    snapshots: snaps.map((s: unknown) => {
      const so = (s ?? {}) as Record<string, unknown>;
      return { id: str(so.id) ?? '', name: str(so.name) ?? '', vmStateSize: num(so['vm-state-size']), dateSec: num(so['date-sec']) };
    }),
  };
}

/** `qemu-img info --output=json` of one image, with its format given explicitly. */
export async function imageInfo(path: string, format: string, opts: InfoOptions = {}): Promise<ImageInfo> {
  const args = ['info', '--output=json', '-f', format];
  if (opts.forceShare) args.push('-U');
  args.push(path);
  const { stdout } = await runQemuImg(args);
  return toImageInfo(JSON.parse(stdout));
}

/** The internal snapshot tags of a qcow2 image (from info json: snapshot -l has no JSON). */
export async function listSnapshotTags(path: string, opts: InfoOptions = {}): Promise<string[]> {
  return (await imageInfo(path, 'qcow2', opts)).snapshots.map((s) => s.name);
}

/**
 * `qemu-img snapshot` has no -f option, so the format is pinned with --image-opts instead;
 * a comma in the path must be doubled in that syntax.
 */
function qcow2ImageOpts(path: string): string {
  return `driver=qcow2,file.filename=${path.replace(/,/g, ',,')}`;
}

/** Creates internal snapshot `tag` in a qcow2 image (qemu-img snapshot -c). */
export async function snapshotCreate(path: string, tag: string): Promise<void> {
  await runQemuImg(['snapshot', '-q', '--image-opts', '-c', tag, qcow2ImageOpts(path)]);
}

/**
 * Reverts a qcow2 image's active layer to internal snapshot `tag` (qemu-img snapshot -a).
 * qemu-img -a matches snapshot IDs before names, so a tag named "2" would apply the
 * snapshot whose ID is 2: the tag is resolved to its own ID first, which -a then matches exactly.
 */
export async function snapshotApply(path: string, tag: string): Promise<void> {
  const matches = (await internalSnapshotsOf(path)).filter((s) => s.name === tag);
  if (matches.length !== 1) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU,
      `image '${path}' has ${matches.length === 0 ? 'no' : 'more than one'} internal snapshot named '${tag}'`);
  }
  await runQemuImg(['snapshot', '-q', '--image-opts', '-a', matches[0]!.id, qcow2ImageOpts(path)]);
}

/** The internal snapshots of a qcow2 image, from its header (qemu-img info when it cannot be read natively). */
async function internalSnapshotsOf(path: string): Promise<{ id: string; name: string }[]> {
  if (process.env.SNAPVIRT_NATIVE_QCOW2 !== '0') {
    const handle = await openImageFile(path).catch(() => undefined);
    if (handle) {
      try {
        const header = await readQcow2Header(handle, path).catch(() => undefined);
        if (header) return header.snapshots;
      } finally {
        await handle.close();
      }
    }
  }
  return (await imageInfo(path, 'qcow2')).snapshots;
}

/**
 * Deletes internal snapshot `tag` from a qcow2 image (qemu-img snapshot -d). Unlike -a,
 * -d matches names before IDs (measured on 7.2), so the name is passed as is; callers
 * check the tag exists first, or a missing name would fall back to an ID match.
 */
export async function snapshotDelete(path: string, tag: string): Promise<void> {
  await runQemuImg(['snapshot', '-q', '--image-opts', '-d', tag, qcow2ImageOpts(path)]);
}

/** Options for {@link commitImage}. */
export interface CommitOptions {
  /** Commit down to this image in the chain (-b); qemu-img then keeps the top (-b implies -d). */
  base?: string;
  /** -d: keep the top image's data instead of emptying it. */
  keepTop?: boolean;
}

/** Writes the data of `top` into its backing chain (qemu-img commit). */
export async function commitImage(top: string, format: string, opts: CommitOptions = {}): Promise<void> {
  const args = ['commit', '-q', '-f', format];
  if (opts.base !== undefined) args.push('-b', opts.base);
  if (opts.keepTop) args.push('-d');
  args.push(top);
  await runQemuImg(args);
}

/** Options for {@link rebaseImage}. */
export interface RebaseOptions {
  /** The new backing image; null makes the image standalone (all data copied in unless unsafe). */
  backing: BackingRef | null;
  /**
   * -u: rewrite only the header. Correct only when the old and new backing present the
   * same data; otherwise a safe rebase copies the differing clusters into the image.
   */
  unsafe?: boolean;
}

/** Changes an image's backing file (qemu-img rebase), safely by default. */
export async function rebaseImage(path: string, format: string, opts: RebaseOptions): Promise<void> {
  const args = ['rebase', '-q', '-f', format];
  if (opts.unsafe) args.push('-u');
  if (opts.backing) args.push('-b', opts.backing.path, '-F', opts.backing.format);
  else args.push('-b', '');
  args.push(path);
  await runQemuImg(args);
}

/** Result of `qemu-img check --output=json`. */
export interface CheckResult {
  /** 0 clean, 2 corruptions, 3 leaks (qemu-img's exit codes). */
  exitCode: number;
  checkErrors: number;
  corruptions: number;
  leaks: number;
}

/** Checks an image's consistency (qemu-img check); corruptions and leaks are reported, not thrown. */
export async function checkImage(path: string, format: string): Promise<CheckResult> {
  const { stdout, exitCode } = await runQemuImg(['check', '--output=json', '-f', format, path], [0, 2, 3]);
  const o = JSON.parse(stdout) as Record<string, unknown>;
  return { exitCode, checkErrors: num(o['check-errors']), corruptions: num(o.corruptions), leaks: num(o.leaks) };
}

/** Options for {@link convertImage}. */
export interface ConvertOptions {
  source: string;
  sourceFormat: string;
  target: string;
  targetFormat: string;
  /** Read this internal snapshot of the source (by name) instead of its active layer (-l snapshot.name=). */
  snapshotName?: string;
  /** Write only what differs from this image, and make it the target's backing (-B/-F). */
  backing?: BackingRef;
}

/** Copies an image's data into a new image (qemu-img convert), from an internal snapshot if asked. */
export async function convertImage(opts: ConvertOptions): Promise<void> {
  const args = ['convert', '-q', '-f', opts.sourceFormat, '-O', opts.targetFormat];
  if (opts.snapshotName !== undefined) args.push('-l', `snapshot.name=${opts.snapshotName.replace(/,/g, ',,')}`);
  if (opts.backing) args.push('-B', opts.backing.path, '-F', opts.backing.format);
  args.push(opts.source, opts.target);
  await runQemuImg(args);
}
