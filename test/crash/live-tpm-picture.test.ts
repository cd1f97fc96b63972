/**
 * The live crash matrix's judge for a domain with a vTPM: its picture must tell a
 * half-reverted TPM from a whole one, although a revert through a new QEMU names the new
 * TPM generation at random. On the world of the `… revert … --running (new QEMU) with vTPM`
 * row, after a clean revert, each half state below must be neither the before nor the after
 * picture, and putting it right must give the after picture again (so the picture is stable
 * and the TPM part is what told them apart): the disks reverted but the TPM state not, a
 * generation left beside the live one, and the TPM path leading to a state (the same bytes)
 * that the running swtpm does not serve.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TPM2_STATE_FILE, tpmStateDirFor } from '../../src/drivers/qemu/tpm/swtpm-process.js';
import { DOMAIN, outcomeText, runChild } from './crash-world.js';
import { pictureOfLiveWorld, resetLiveWorld } from './live-world.js';
import { liveWorldForTest } from './live-world-for-test.js';
import { classify, describeDifference, openAt } from './world-state.js';

const ROW = 'live revert external disk-only --running (new QEMU) with vTPM, 1 disk';

test('the live vTPM picture tells a half-reverted TPM from a whole one, whatever the generation is named', async (t) => {
  const w = await liveWorldForTest(t, 'snapvirt-live-tpm-picture-', ROW);
  const { stateDir } = w.dirs;
  const conn = await openAt(stateDir);
  const uuid = (await conn.domainLookupByName(DOMAIN)).getUUIDString();
  await conn.close();
  const link = tpmStateDirFor(stateDir, uuid);
  const live = join(link, TPM2_STATE_FILE);
  const key = `tpm/${uuid}/${TPM2_STATE_FILE}`;

  // Before: a plain directory, swtpm on it; each round gave the TPM another state.
  assert.equal(w.before.tpm[`tpm/${uuid}`], 'directory');
  assert.deepEqual(w.before.swtpm, [`run/${uuid}: swtpm on the domain's TPM state`]);
  const copies = ['A', 'B'].map((s) => w.before.tpm[`tpm-snapshots/${uuid}/${s}.permall`]);
  assert.equal(new Set([w.before.tpm[key], ...copies]).size, 3, 'the live state and the two copies differ');

  await resetLiveWorld(w);
  const today = await readFile(live);
  const op = await runChild(stateDir, w.op, '');
  assert.equal(op.code, 0, outcomeText(op));
  const after = await pictureOfLiveWorld(w);
  const judge = async (): Promise<'before' | 'after' | undefined> => classify(await pictureOfLiveWorld(w), w.before, after);
  // After: the link to a generation whose state is snapshot A's copy, the new swtpm on it.
  assert.equal(after.tpm[`tpm/${uuid}`], 'link to its generation');
  assert.equal(after.tpm[key], copies[0]);
  assert.match(after.state.join(' '), new RegExp(`tpm/${uuid}\\.gen-\\*`));
  assert.deepEqual(after.swtpm, [`run/${uuid}.b: swtpm on the domain's TPM state`]);
  assert.equal(await judge(), 'after', 'the picture is stable');

  // The disks reverted, the TPM state not.
  const reverted = await readFile(live);
  await writeFile(live, today);
  const half = await pictureOfLiveWorld(w);
  assert.equal(classify(half, w.before, after), undefined);
  assert.match(describeDifference(half, after), new RegExp(`world\\.tpm\\.${key.replace(/\./g, '\\.')}`));
  await writeFile(live, reverted);
  assert.equal(await judge(), 'after');

  // A generation left beside the live one.
  const generation = join(stateDir, 'tpm', await readlink(link));
  const leftover = `${link}.gen-000000000000`;
  await cp(generation, leftover, { recursive: true });
  assert.equal(await judge(), undefined);
  await rm(leftover, { recursive: true });
  assert.equal(await judge(), 'after');

  // The same bytes under the link, but not the state the running swtpm serves.
  const other = `${link}.gen-111111111111`;
  await cp(generation, other, { recursive: true });
  await symlink(`${uuid}.gen-111111111111`, `${link}.link-test`);
  await rename(`${link}.link-test`, link);
  await rm(generation, { recursive: true });
  const moved = await pictureOfLiveWorld(w);
  assert.equal(JSON.stringify(moved.tpm), JSON.stringify(after.tpm), 'the same TPM files');
  assert.equal(classify(moved, w.before, after), undefined);
  assert.match(moved.swtpm.join(' '), /swtpm on another state/);
});
