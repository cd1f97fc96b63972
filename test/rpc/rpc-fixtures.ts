/** The captured libvirt RPC frames of test/fixtures/rpc/ (see its README). */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../test/fixtures/rpc/', import.meta.url));

export interface CapturedFrame {
  file: string;
  dir: 'client' | 'server';
  frame: Buffer;
}

/** The frames of one fixture file, in order. */
export function capturedFrames(file: string): CapturedFrame[] {
  return readFileSync(FIXTURE_DIR + file, 'utf8').trim().split('\n').map((line) => {
    const { dir, hex } = JSON.parse(line) as { dir: 'client' | 'server'; hex: string };
    return { file, dir, frame: Buffer.from(hex, 'hex') };
  });
}

/** Every fixture file's frames. */
export function allCapturedFrames(): CapturedFrame[] {
  return readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.jsonl')).sort().flatMap(capturedFrames);
}
