/**
 * Creates the qcow2 overlay files of a live snapshot, outside QEMU's critical
 * section. The file is first created exclusively with mode 0600 (so an existing file is
 * never overwritten and the overlay is never world-readable, even briefly), then its
 * qcow2 header is written natively (qcow2-overlay.ts: no process per disk; qemu-img only
 * for backings whose size cannot be read natively, or with SNAPVIRT_NATIVE_QCOW2=0), and
 * it is fsynced with its directory so the overlay survives a host crash once metadata
 * points at it.
 */
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeQcow2Overlay } from '../qcow2-overlay.js';

/** What to write into a new overlay's header. */
export interface OverlaySpec {
  /** Absolute path of the overlay to create. */
  path: string;
  /** Overlay format; only qcow2 can carry a backing file here. */
  format: 'qcow2';
  /** Absolute path of the image below it, stored verbatim in the header. */
  backingPath: string;
  /** The backing image's format, stored in the header so it is never probed. */
  backingFormat: string;
}

function qemuImgBinary(): string {
  return process.env.SNAPVIRT_QEMU_IMG || 'qemu-img';
}

/**
 * Creates the overlay. `onCreated` is called as soon as the file exists, before it is
 * formatted, so the caller can record it for cleanup even if formatting then fails.
 */
export async function createOverlayImage(spec: OverlaySpec, onCreated: (path: string) => void): Promise<void> {
  const fh = await open(spec.path, 'wx', 0o600);
  onCreated(spec.path);
  await fh.close();
  // The backing is open in QEMU, but its header (virtual size) is stable while it runs:
  // qemu-img create -b reads the same field. The native writer fsyncs what it wrote.
  if (process.env.SNAPVIRT_NATIVE_QCOW2 !== '0' && await writeQcow2Overlay(spec.path, spec.backingPath, spec.backingFormat)) return;
  await new Promise<void>((resolve, reject) => {
    execFile(qemuImgBinary(),
      ['create', '-q', '-f', spec.format, '-b', spec.backingPath, '-F', spec.backingFormat, spec.path],
      { encoding: 'utf8' },
      (err, _stdout, stderr) => {
        if (err) reject(new Error(`qemu-img create ${spec.path} failed: ${stderr.trim() || err.message}`));
        else resolve();
      });
  });
  await fsyncPath(spec.path, 'r+');
}

/** Fsyncs each distinct directory once, making the new directory entries durable. */
export async function fsyncDirectories(paths: readonly string[]): Promise<void> {
  for (const dir of new Set(paths.map((p) => dirname(p)))) await fsyncPath(dir, 'r');
}

async function fsyncPath(path: string, flags: 'r' | 'r+'): Promise<void> {
  const fh = await open(path, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
