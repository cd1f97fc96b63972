/**
 * The UEFI variable store and the vTPM in crash-test worlds: a world's domain given OVMF's
 * loader and an NVRAM file (created from the template), or a TPM (swtpm's state manufactured
 * by the first snapshot), writers that change their bytes as writeData changes the disks',
 * and the picture of every byte an operation may change of the NVRAM (the domain's file and
 * each snapshot's copy under `<stateDir>/firmware`; the TPM's: tpm-picture.ts).
 */
import { createHash } from 'node:crypto';
import { copyFile, open, readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/** `xml` (a domain) with OVMF's loader and the variable store `nvram`, created now from its template. */
export async function withNvram(xml: string, nvram: string): Promise<string> {
  await copyFile(VARS, nvram);
  return xml.replace('</os>', `<loader readonly='yes' type='pflash'>${CODE}</loader><nvram template='${VARS}'>${nvram}</nvram></os>`);
}

/** Writes `pattern` over 4 KiB of the variable store at the `round`-th place. */
export async function writeNvram(nvram: string, pattern: number, round: number): Promise<void> {
  const fh = await open(nvram, 'r+');
  try {
    await fh.write(Buffer.alloc(4096, pattern), 0, 4096, (round % 64) * 4096);
  } finally {
    await fh.close();
  }
}

/** `xml` (a domain) with a TPM 2.0 on swtpm. */
export function withTpm(xml: string): string {
  return xml.replace('</devices>', "<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm></devices>");
}

/** Writes `pattern` over 64 bytes of the TPM state file `permall` (once a snapshot made it) at the `round`-th place. */
export async function writeTpmState(permall: string, pattern: number, round: number): Promise<void> {
  if (!existsSync(permall)) return;
  const fh = await open(permall, 'r+');
  try {
    await fh.write(Buffer.alloc(64, pattern), 0, 64, 256 + (round % 16) * 64);
  } finally {
    await fh.close();
  }
}

/** sha256 of `extra` (if there) and of every file under `roots` (paths relative to `stateDir`). */
async function filesPicture(stateDir: string, roots: readonly string[], extra?: string): Promise<Record<string, string>> {
  const files: string[] = extra !== undefined && existsSync(extra) ? [extra] : [];
  for (const r of roots) {
    const root = join(stateDir, r);
    if (!existsSync(root)) continue;
    for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) files.push(join(e.parentPath ?? e.path, e.name));
    }
  }
  const out: Record<string, string> = {};
  for (const f of files.sort()) out[f] = createHash('sha256').update(await readFile(f)).digest('hex');
  return out;
}

/** sha256 of the domain's variable store (if any) and of every snapshot's copy. */
export function nvramPicture(stateDir: string, nvram: string | undefined): Promise<Record<string, string>> {
  return filesPicture(stateDir, ['firmware'], nvram);
}
