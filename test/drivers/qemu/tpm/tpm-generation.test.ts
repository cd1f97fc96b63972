/**
 * The commit's move of a domain's TPM path to a new generation (tpm-generation.ts) is
 * idempotent from every state a kill can leave it in: a directory of an older snapvirt
 * (renamed to a generation of its own first), the rename done but no link yet, a link
 * left half made, the link already moved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pointTpmAtGeneration, type TpmGenerationFlip } from '../../../../src/drivers/qemu/tpm/tpm-generation.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

async function world(t: { after(fn: () => Promise<void>): void }): Promise<{ dir: string; flip: TpmGenerationFlip & { legacyTo: string } }> {
  const tmp = await makeTempDir('snapvirt-tpm-gen-');
  t.after(() => tmp.cleanup());
  const dir = tmp.path;
  const flip = { link: join(dir, 'u'), to: join(dir, 'u.gen-new'), legacyTo: join(dir, 'u.gen-old') };
  mkdirSync(flip.to);
  writeFileSync(join(flip.to, 'tpm2-00.permall'), 'new');
  return { dir, flip };
}

test('a directory of an older snapvirt becomes a generation, then the path links the new one; again changes nothing', async (t) => {
  const { dir, flip } = await world(t);
  mkdirSync(flip.link);
  writeFileSync(join(flip.link, 'tpm2-00.permall'), 'old');
  pointTpmAtGeneration(flip);
  assert.equal(readlinkSync(flip.link), 'u.gen-new');
  assert.equal(readFileSync(join(flip.link, 'tpm2-00.permall'), 'utf8'), 'new');
  assert.equal(readFileSync(join(flip.legacyTo, 'tpm2-00.permall'), 'utf8'), 'old');
  pointTpmAtGeneration(flip);
  assert.deepEqual(readdirSync(dir).sort(), ['u', 'u.gen-new', 'u.gen-old']);
});

test('killed after the rename (no path) or with the new link half made: the retry links the new generation', async (t) => {
  const { dir, flip } = await world(t);
  pointTpmAtGeneration(flip);
  assert.equal(readlinkSync(flip.link), 'u.gen-new');
  const again = await world(t);
  symlinkSync('u.gen-new', `${again.flip.link}.link-new`);
  symlinkSync('u.gen-old', again.flip.link);
  pointTpmAtGeneration(again.flip);
  assert.equal(readlinkSync(again.flip.link), 'u.gen-new');
  assert.deepEqual(readdirSync(again.dir).sort(), ['u', 'u.gen-new']);
  assert.deepEqual(readdirSync(dir).sort(), ['u', 'u.gen-new']);
});
