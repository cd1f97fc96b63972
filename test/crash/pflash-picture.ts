/**
 * Which variable store a running UEFI domain's QEMU holds. QEMU reads the NVRAM file into
 * its flash device's memory once, at start, and a memory snapshot's load replaces that
 * memory with the saved one (live-world.ts, nvramRound): the file and what the guest would
 * read can differ, and the crash matrix must see it when they do, as it sees which TPM
 * state a running swtpm serves. The flash memory is read through the guest's physical
 * address space (HMP pmemsave at the range `info mtree -f` gives pflash unit 1,
 * 'system.flash1'; a flash in read-array mode reads back its memory) and compared with
 * the file.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Domain } from '../../src/api/domain.js';

/** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP */
const HMP = 1;

let scratchCounter = 0;

/** The guest-physical range of pflash unit 1 (the variable store) in `dom`'s QEMU. */
async function varsRange(dom: Domain): Promise<{ start: number; size: number }> {
  const mtree = await dom.qemuMonitorCommand('info mtree -f', HMP);
  const m = /^\s*([0-9a-f]+)-([0-9a-f]+) \([^)]*\): system\.flash1$/m.exec(mtree);
  if (!m) throw new Error(`no system.flash1 in QEMU's memory map:\n${mtree.slice(0, 2000)}`);
  const start = Number.parseInt(m[1]!, 16);
  return { start, size: Number.parseInt(m[2]!, 16) - start + 1 };
}

/** The bytes of `dom`'s variable store as its running QEMU holds them. */
export async function qemuVarsStore(dom: Domain, scratchDir: string): Promise<Buffer> {
  const { start, size } = await varsRange(dom);
  const out = join(scratchDir, `vars-${process.pid}-${scratchCounter++}.bin`);
  try {
    const reply = await dom.qemuMonitorCommand(`pmemsave 0x${start.toString(16)} ${size} "${out}"`, HMP);
    if (reply !== '') throw new Error(`HMP pmemsave failed: ${reply}`);
    return await readFile(out);
  } finally {
    await rm(out, { force: true });
  }
}

/**
 * What the running QEMU of `dom` holds as its variable store: the bytes of the NVRAM file
 * `nvram`, or other bytes (named by their sha256).
 */
export async function pflashPicture(dom: Domain, nvram: string, scratchDir: string): Promise<string> {
  const held = await qemuVarsStore(dom, scratchDir);
  if (existsSync(nvram) && held.equals(await readFile(nvram))) return "QEMU's variable store holds the NVRAM file's bytes";
  return `QEMU's variable store holds other bytes than the NVRAM file (sha256 ${createHash('sha256').update(held).digest('hex').slice(0, 16)})`;
}
