/**
 * The picture of every vTPM state in a crash-test world, by content, never by generation
 * name: a revert of a running domain through a new QEMU (src/drivers/qemu/tpm/tpm-generation.ts)
 * makes the domain's TPM path `<stateDir>/tpm/<uuid>` a link to a generation
 * `<uuid>.gen-<12 hex>`, a random name per revert, so two runs of the same operation never
 * name it alike. The picture says instead what each TPM path is (a directory, or a link to
 * one of its generations), the sha256 of each file read through it, every generation no
 * link points at (by content: after any case there must be none), and the sha256 of every
 * snapshot's copy under `<stateDir>/tpm-snapshots`; and, for a running domain, which
 * state its swtpm serves: the one its TPM path leads to, or another.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { tpmStateDirFor } from '../../src/drivers/qemu/tpm/swtpm-process.js';

/** A generation's name: the TPM path's name, `.gen-`, 12 random hex digits. */
const GENERATION = /^(.+)\.gen-[0-9a-f]{12}$/;

/** `name` with a generation's random part replaced (`<uuid>.gen-*`): what a listing may compare. */
export function generationAgnostic(name: string): string {
  return name.replace(/\.gen-[0-9a-f]{12}(?=$|\/)/g, '.gen-*');
}

const sha = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');

/** sha256 of every file under `dir` (recursively), keyed `<label>/<path inside dir>`. */
async function filesUnder(dir: string, label: string, out: Record<string, string>): Promise<void> {
  const files: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) files.push(join(e.parentPath ?? e.path, e.name));
  }
  for (const f of files.sort()) out[`${label}/${relative(dir, f)}`] = await sha(f);
}

/** The picture of every TPM state and copy under `stateDir` (see the file comment). */
export async function tpmPicture(stateDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const tpm = join(stateDir, 'tpm');
  if (existsSync(tpm)) {
    const names = (await readdir(tpm)).sort();
    const linked = new Set<string>();
    for (const name of names.filter((n) => !GENERATION.test(n))) {
      const path = join(tpm, name);
      const st = await lstat(path);
      if (st.isSymbolicLink()) {
        const target = await readlink(path);
        const ownGeneration = GENERATION.exec(target)?.[1] === name && !target.includes('/');
        linked.add(target);
        out[`tpm/${name}`] = ownGeneration ? (existsSync(path) ? 'link to its generation' : 'link to a missing generation') : `link to ${target}`;
        if (existsSync(path)) await filesUnder(await realpath(path), `tpm/${name}`, out);
      } else if (st.isDirectory()) {
        out[`tpm/${name}`] = 'directory';
        await filesUnder(path, `tpm/${name}`, out);
      } else {
        out[`tpm/${name}`] = `file ${await sha(path)}`;
      }
    }
    // A generation no link points at is a leftover (or a half-done switch): pictured by its content.
    for (const name of names.filter((n) => GENERATION.test(n) && !linked.has(n))) {
      const files: Record<string, string> = {};
      await filesUnder(join(tpm, name), '', files);
      const key = `tpm/${generationAgnostic(name)} (no link to it)`;
      out[key] = [...(out[key] ? [out[key]] : []), JSON.stringify(files)].sort().join(' + ');
    }
  }
  const copies = join(stateDir, 'tpm-snapshots');
  if (existsSync(copies)) await filesUnder(copies, 'tpm-snapshots', out);
  return out;
}

/**
 * Which TPM state each swtpm of domain `uuid`'s runtime directories (`<stateDir>/run/<uuid>*`)
 * serves, by its command line's `--tpmstate dir=`: the domain's (the one its TPM path leads
 * to, now) or another; an empty list when none runs.
 */
export async function swtpmPicture(stateDir: string, uuid: string): Promise<string[]> {
  const run = join(stateDir, 'run');
  const ownPath = tpmStateDirFor(stateDir, uuid);
  const own = existsSync(ownPath) ? await realpath(ownPath) : undefined;
  const out: string[] = [];
  for (const dir of (await readdir(run).catch(() => [] as string[])).filter((d) => d.startsWith(uuid)).sort()) {
    const pid = (await readFile(join(run, dir, 'swtpm.pid'), 'utf8').catch(() => '')).trim();
    const cmdline = pid === '' ? '' : await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const served = /(?:^|\0)dir=([^,\0]+)/.exec(cmdline)?.[1];
    if (served === undefined) continue;
    const real = existsSync(served) ? await realpath(served) : served;
    out.push(`run/${dir}: swtpm on ${real === own ? "the domain's TPM state" : `another state, ${generationAgnostic(relative(stateDir, real))}`}`);
  }
  return out;
}
