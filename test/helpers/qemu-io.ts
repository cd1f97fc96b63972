/**
 * qemu-io helpers: write a byte pattern at an offset and verify it is read back, through
 * the whole backing chain, so tests can prove which data a disk presents.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Writes `length` bytes of `pattern` (0..255) at `offset` into the image. */
export async function writePattern(path: string, format: string, pattern: number, offset: number, length: number): Promise<void> {
  await run('qemu-io', ['-f', format, '-c', `write -P ${pattern} ${offset} ${length}`, path]);
}

/** True when the image (with its chain) reads back `pattern` over the whole range. */
export async function hasPattern(path: string, format: string, pattern: number, offset: number, length: number): Promise<boolean> {
  try {
    // -r: verification must never take the write lock or change the image.
    await run('qemu-io', ['-r', '-f', format, '-c', `read -P ${pattern} ${offset} ${length}`, path]);
    return true;
  } catch {
    return false;
  }
}

/** A qemu-io process holding an image open read-write, as a running VM would (takes QEMU's lock). */
export interface ImageHolder {
  release(): Promise<void>;
}

/** Opens `path` in an interactive qemu-io and waits until the lock is held. */
export async function holdImage(path: string, format: string): Promise<ImageHolder> {
  const child: ChildProcess = spawn('qemu-io', ['-f', format, path], { stdio: ['pipe', 'pipe', 'pipe'] });
  // Ask for a command whose output proves the image is open (and therefore locked).
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('format name')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`qemu-io exited early (${code}): ${out}`)));
    child.stdin?.write('info\n');
  });
  return {
    async release() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.stdin?.end('quit\n');
      await exited;
    },
  };
}

/** True when internal snapshot `tag` of qcow2 `image` reads back `pattern` (copied out with qemu-img convert -l). */
export async function tagHasPattern(image: string, tag: string, pattern: number, offset: number, length: number): Promise<boolean> {
  const out = `${image}.check-${process.pid}-${Date.now()}.raw`;
  try {
    await run('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', '-l', `snapshot.name=${tag}`, image, out]);
    return await hasPattern(out, 'raw', pattern, offset, length);
  } finally {
    await run('rm', ['-f', out]);
  }
}
