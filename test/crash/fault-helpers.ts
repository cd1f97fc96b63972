/** Helpers for fault tests: run an operation and recover it in new processes, fill a file system. */
import assert from 'node:assert/strict';
import { open, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildOp } from './crash-child.js';
import { DOMAIN, outcomeText, runChild, type BuiltWorld } from './crash-world.js';
import { classify, pictureOf, type WorldPicture } from './world-state.js';

/** Runs `op` in a child and recovers in another; returns the op's outcome text and the world's side. */
export async function runAndRecover(w: BuiltWorld, op: ChildOp, after: WorldPicture | undefined, env: NodeJS.ProcessEnv = {}):
Promise<{ failed: boolean; error: string; side: 'before' | 'after' | undefined; picture: WorldPicture }> {
  const res = await runChild(w.dirs.stateDir, op, '', { env });
  assert.ok(res.code === 0 || res.code === 2, `not a clean success or VirError: ${outcomeText(res)}`);
  const recovery = await runChild(w.dirs.stateDir, { op: 'open' }, '');
  assert.equal(recovery.code, 0, `recovery: ${outcomeText(recovery)}`);
  const picture = await pictureOf(w.dirs, DOMAIN);
  const side = classify(picture, w.before, after ?? w.before);
  return { failed: res.code === 2, error: res.report?.error ?? '', side, picture };
}

/** Bytes a file takes on its file system (tmpfs counts whole pages). */
export async function usage(path: string): Promise<number> {
  return (await stat(path)).blocks * 512;
}

/** Fills the file system of `dir` so that about `room` bytes stay free. */
export async function fillLeaving(dir: string, room: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  const filler = Math.max(0, Math.floor((free - room) / 4096) * 4096);
  const fh = await open(join(dir, 'filler'), 'w');
  try {
    if (filler > 0) await fh.write(Buffer.alloc(filler, 1));
  } finally {
    await fh.close();
  }
}
