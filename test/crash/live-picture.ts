/**
 * The picture of a world whose domain may be running: everything world-state.ts pictures
 * (XML, chains with tags, data of each disk and snapshot, file listings, snapshot
 * metadata, open journal entries), taken after every running disk was flushed, plus what
 * only a running domain has: the inactive definition next to the live one, the run state
 * and reason, QEMU's query-status, each disk's active chain from query-block (node names
 * and files, top first), every named block node, the block jobs, which byte pattern
 * each written slot of each disk reads back, which TPM state each running swtpm serves, and
 * whether a UEFI domain's running QEMU holds its NVRAM file's bytes in its flash memory
 * (pflash-picture.ts); for a group's world, of every member.
 *
 * A vTPM world's TPM state (tpm-picture.ts) is read from the files while the guest runs, and
 * that is stable: its machine has no ACPI (the fixture's definition has no `<features><acpi/>`,
 * so QEMU runs with acpi=off), and SeaBIOS then sends the TPM nothing (measured: the state
 * file's bytes and time do not change through a boot, while with ACPI SeaBIOS's TPM setup
 * rewrites it a few hundred milliseconds into every boot, other bytes each time); without a
 * guest OS nothing else drives the TPM. swtpm then writes its state file only when QEMU
 * hands it a saved state (a revert with memory), inside the operation. Stopping the vCPUs
 * for the picture would not have made a booting firmware's writes stable, only cut them off
 * at a random point. The picture still sees a half-reverted TPM: it is by content, read
 * through the domain's TPM path (a link since a revert through a new QEMU, to a generation
 * whose name is random), with every generation no link points at, every snapshot's copy,
 * and which state the running swtpm serves. That the state did not change while pictured is
 * checked: it is read first and last, and a difference throws.
 *
 * A UEFI world's NVRAM (world-state.ts pictures the file and every snapshot's copy) is
 * stable because its firmware never runs: the domain is only ever paused (live-world.ts),
 * so OVMF, which may write its variables whenever it runs, executes nothing. QEMU itself
 * writes the file only for a guest's flash write (none without a running vCPU) and, once
 * its flash memory was loaded from a saved machine state, at the next run state change
 * (none while a case is judged; and it would write the bytes the snapshot's copy holds, as
 * the world changes the file only while the domain is shut off). It is read first and last
 * too, and a difference throws.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from '../../src/api/connection.js';
import type { Domain } from '../../src/api/domain.js';
import { parseDomainXML } from '../../src/conf/domain-xml.js';
import { guestFlush } from '../helpers/guest-io.js';
import { openAt, pictureOf, type WorldDirs, type WorldPicture } from './world-state.js';
import { swtpmPicture, tpmPicture } from './tpm-picture.js';
import { nvramPicture } from './firmware-world.js';
import { pflashPicture } from './pflash-picture.js';
import { nvramPathOf } from '../../src/drivers/qemu/domain/devices/firmware.js';

const run = promisify(execFile);

/** VIR_DOMAIN_XML_INACTIVE */
const INACTIVE = 2;

/** What QEMU says about the running domain. */
export interface QemuPicture {
  status: string;
  /** Per disk: target, top node, and the chain's files top first. */
  blocks: string[];
  /** Named block nodes (QEMU's automatic '#block…' names left out: they count up per process). */
  nodes: string[];
  jobs: string[];
}

/** The picture of a world whose domain may be running. */
export interface LivePicture extends WorldPicture {
  inactiveXml: string | null;
  /** domstate and reason, as numbers. */
  runState: string;
  qemu: QemuPicture | null;
  /** Per disk target: the pattern read at each written slot ('0x2a', 'zero' or 'mixed'). */
  slots: Record<string, string[]>;
  /** Which TPM state each of its swtpms serves (tpm-picture.ts); none without a vTPM. */
  swtpm: string[];
  /** Which variable store its running QEMU holds (pflash-picture.ts); null without NVRAM or QEMU. */
  pflash: string | null;
  /** A group's world: the same of each other member. */
  otherLive: Record<string, LiveDomainPart>;
}

type JsonReply = { return?: unknown; error?: { desc: string } };

async function qmp(dom: Domain, execute: string, args?: object): Promise<unknown> {
  const reply = JSON.parse(await dom.qemuMonitorCommand(JSON.stringify({ execute, ...(args ? { arguments: args } : {}) }))) as JsonReply;
  if (reply.error) throw new Error(`${execute}: ${reply.error.desc}`);
  return reply.return;
}

type BlockImage = { filename: string; 'backing-image'?: BlockImage };

/** The node names snapvirt gives backing layers it reopens (explicit-chain.ts). */
const EXPLICIT_LAYER = /^drive-[a-z0-9]+-c\d+-(fmt|file)$/;

async function qemuPicture(dom: Domain): Promise<QemuPicture> {
  const status = (await qmp(dom, 'query-status') as { status: string }).status;
  const blocks = (await qmp(dom, 'query-block') as Array<{ qdev: string; inserted?: { 'node-name': string; image: BlockImage } }>)
    .filter((b) => b.inserted)
    .map((b) => {
      const files: string[] = [];
      for (let img: BlockImage | undefined = b.inserted!.image; img; img = img['backing-image']) files.push(img.filename);
      // QEMU's automatic names ('#block123', a layer opened from an image header) count up per process.
      const node = b.inserted!['node-name'].replace(/^#block\d+$/, '#block');
      return `${b.qdev.replace(/^\/machine\/peripheral\/disk-|\/virtio-backend$/g, '')} ${node}: ${files.join(' <- ')}`;
    });
  // A live delete's merge renames the backing layers QEMU opened from headers (drive-vda-c1-…,
  // qmp/explicit-chain.ts): the same files in the same chain, which `blocks` shows.
  const nodes = (await qmp(dom, 'query-named-block-nodes', { flat: true }) as Array<{ 'node-name': string }>)
    .map((n) => n['node-name']).filter((n) => !n.startsWith('#') && !EXPLICIT_LAYER.test(n)).sort();
  const jobs = (await qmp(dom, 'query-jobs') as Array<{ id: string; status: string }>).map((j) => `${j.id} ${j.status}`);
  return { status, blocks, nodes, jobs };
}

/** The pattern of each `slotBytes`-long slot of `raw` in `offsets`. */
function slotPatterns(raw: Buffer, offsets: readonly number[], slotBytes: number): string[] {
  return offsets.map((o) => {
    const slot = raw.subarray(o, o + slotBytes);
    const first = slot[0] ?? 0;
    if (!slot.every((b) => b === first)) return 'mixed';
    return first === 0 ? 'zero' : `0x${first.toString(16)}`;
  });
}

let scratchCounter = 0;

/** What disk `path` (its whole chain) presents, as raw bytes (read with -U: QEMU may hold it). */
async function rawOf(dirs: WorldDirs, path: string, format: string): Promise<Buffer> {
  const out = join(dirs.scratchDir, `slots-${process.pid}-${scratchCounter++}.raw`);
  try {
    await run('qemu-img', ['convert', '-U', '-f', format, '-O', 'raw', path, out]);
    return await readFile(out);
  } finally {
    await rm(out, { force: true });
  }
}

/** The NVRAM file of domain `name` (undefined when it has none or is not defined). */
async function nvramPathIn(conn: Connection, name: string): Promise<string | undefined> {
  if (!(await conn.listAllDomains()).some((d) => d.getName() === name)) return undefined;
  return nvramPathOf(parseDomainXML(await (await conn.domainLookupByName(name)).getXMLDesc()));
}

/** What only a running domain has, for one domain of the world. */
export interface LiveDomainPart {
  inactiveXml: string | null;
  runState: string;
  qemu: QemuPicture | null;
  slots: Record<string, string[]>;
  /** Which TPM state each of its swtpms serves (tpm-picture.ts); none without a vTPM. */
  swtpm: string[];
  /** Which variable store its running QEMU holds (pflash-picture.ts); null without NVRAM or QEMU. */
  pflash: string | null;
}

/** The live part of domain `name` ('no domain' when it is not defined). */
async function liveDomainPart(conn: Connection, dirs: WorldDirs, name: string, offsets: readonly number[], slotBytes: number): Promise<LiveDomainPart> {
  const part: LiveDomainPart = { inactiveXml: null, runState: 'no domain', qemu: null, slots: {}, swtpm: [], pflash: null };
  if (!(await conn.listAllDomains()).some((d) => d.getName() === name)) return part;
  const dom = await conn.domainLookupByName(name);
  part.swtpm = await swtpmPicture(dirs.stateDir, dom.getUUIDString());
  const { state, reason } = await dom.getState();
  part.runState = `${state}:${reason}`;
  part.inactiveXml = await dom.getXMLDesc(INACTIVE);
  const def = parseDomainXML(await dom.getXMLDesc());
  if (await dom.isActive()) {
    // QEMU keeps qcow2 metadata in its caches: flushed, the files say what the guest sees.
    for (const d of def.disks) await guestFlush(dom, d.target);
    part.qemu = await qemuPicture(dom);
    const nvram = nvramPathOf(def);
    if (nvram !== undefined) part.pflash = await pflashPicture(dom, nvram, dirs.scratchDir);
  }
  // Every disk read at once (read-only qemu-img runs); the slots land in disk order.
  const read = await Promise.all(def.disks.flatMap((d) => (d.sourcePath
    ? [rawOf(dirs, d.sourcePath, d.format ?? 'raw').then((raw) => [d.target, slotPatterns(raw, offsets, slotBytes)] as const)]
    : [])));
  for (const [target, patterns] of read) part.slots[target] = patterns;
  return part;
}

/**
 * Takes the live picture; `slots` are the offsets written in each disk, each `slotBytes`
 * long. A group's world names its `others` domains: each is pictured whole too.
 */
export async function livePictureOf(
  dirs: WorldDirs, domainName: string, offsets: readonly number[], slotBytes: number, others: readonly string[] = [],
): Promise<LivePicture> {
  const conn = await openAt(dirs.stateDir);
  // Read first here and last by pictureOf (see the file comment).
  const tpmFirst = JSON.stringify(await tpmPicture(dirs.stateDir));
  let nvramFirst: string;
  let first: LiveDomainPart;
  const otherLive: Record<string, LiveDomainPart> = {};
  try {
    nvramFirst = JSON.stringify(await nvramPicture(dirs.stateDir, await nvramPathIn(conn, domainName)));
    first = await liveDomainPart(conn, dirs, domainName, offsets, slotBytes);
    for (const name of others) otherLive[name] = await liveDomainPart(conn, dirs, name, offsets, slotBytes);
  } finally {
    await conn.close();
  }
  const world = await pictureOf(dirs, domainName, others);
  if (JSON.stringify(world.tpm) !== tpmFirst) throw new Error(`the TPM state changed while it was pictured: ${tpmFirst} then ${JSON.stringify(world.tpm)}`);
  if (JSON.stringify(world.nvram) !== nvramFirst) throw new Error(`the NVRAM changed while it was pictured: ${nvramFirst} then ${JSON.stringify(world.nvram)}`);
  return { ...world, ...first, otherLive };
}
