/**
 * The UEFI variable store in crash-test worlds: a world's domain given OVMF's loader and
 * an NVRAM file (created from the template), a writer that changes its bytes as writeData
 * changes the disks', and the picture of every NVRAM byte an operation may change (the
 * domain's file and each snapshot's copy under `<stateDir>/firmware`).
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

/** sha256 of the domain's variable store (if any) and of every snapshot's copy. */
export async function nvramPicture(stateDir: string, nvram: string | undefined): Promise<Record<string, string>> {
  const files: string[] = nvram !== undefined && existsSync(nvram) ? [nvram] : [];
  const root = join(stateDir, 'firmware');
  if (existsSync(root)) {
    for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) files.push(join(e.parentPath ?? e.path, e.name));
    }
  }
  const out: Record<string, string> = {};
  for (const f of files.sort()) out[f] = createHash('sha256').update(await readFile(f)).digest('hex');
  return out;
}
