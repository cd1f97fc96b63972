/**
 * Crash-test worlds whose domain runs: a domain 'vm' with N qcow2 disks (a group's world:
 * 'vm', 'vm2'… with N each, all running), started under
 * TCG (no guest OS: SeaBIOS idles), with data written into each running disk through HMP
 * qemu-io before and between its snapshots. A running QEMU cannot be copied, so the
 * world's files are kept as a template with the domain shut off (QEMU stopped with
 * SIGTERM, which flushes), and each reset copies them back, starts the domain again and
 * writes one more round of data that no snapshot holds yet: the running guest's own
 * writes, which every case must keep (or, for a revert, drop) exactly. A vTPM world's first
 * domain has a TPM whose state file each round changes too; a UEFI world's first domain has
 * OVMF and an NVRAM file that each round changes too, and its domains are only ever paused
 * (OVMF never runs).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from '../../src/api/connection.js';
import type { Domain } from '../../src/api/domain.js';
import { parseDomainXML } from '../../src/conf/domain-xml.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { guestWrite } from '../helpers/guest-io.js';
import { killAllQemu } from '../drivers/qemu/support/active-env.js';
import type { ChildOp } from './crash-child.js';
import { domainNames } from './crash-world.js';
import { withNvram, withTpm, writeNvram } from './firmware-world.js';
import { nvramPathOf } from '../../src/drivers/qemu/domain/devices/firmware.js';
import { manufactureTpmState, TPM2_STATE_FILE, tpmStateDirFor } from '../../src/drivers/qemu/tpm/swtpm-process.js';
import { livePictureOf, type LivePicture } from './live-picture.js';
import type { MatrixWorld } from './matrix.js';
import { openAt, type WorldDirs } from './world-state.js';

const run = promisify(execFile);

/** What a live scenario's prepare() gets: the domain (running; paused in a UEFI world) and a writer of guest data. */
export interface LivePrepareContext {
  conn: Connection;
  /** The first domain ('vm'). */
  dom: Domain;
  /** Every domain of the world, `dom` first (a group's members), all running. */
  doms: Domain[];
  dirs: WorldDirs;
  /** Writes a fresh pattern into every running disk of every domain at a fresh slot. */
  writeData(): Promise<void>;
}

/** One live operation of the crash matrix and the world it runs on. */
export interface LiveScenario {
  name: string;
  /** Disks of each domain. */
  disks: number;
  /** Running domains in the world (default 1; a group's scenario has more): 'vm', 'vm2'… */
  domains?: number;
  /** Virtual size of each disk (default 1 MiB). */
  diskBytes?: number;
  /** Bytes of each slot written by writeData() (default 64 KiB). */
  writeBytes?: number;
  /**
   * The first domain has a vTPM (swtpm, TPM 2.0) whose state file writeData() changes too
   * (see `tpmRound`).
   */
  tpm?: boolean;
  /**
   * The first domain boots OVMF from pflash with an NVRAM file, whose bytes writeData()
   * changes too (see `nvramRound`). Every domain of the world is started paused and never
   * runs a guest instruction: a running OVMF may write its variables at any moment.
   */
  nvram?: boolean;
  /** Builds the snapshots the operation needs (the domain runs, or is paused in a UEFI world) and returns the operation. */
  prepare(ctx: LivePrepareContext): Promise<ChildOp>;
  /** Failpoints whose `error` does not surface as `failpoint NAME`, and the error they give. */
  errorText?: Record<string, RegExp>;
  /** Failpoints (`name@n`) inside a switch after which a crash is finished by recovery (see MatrixWorld). */
  forwardOnCrash?: string[];
  /** Failpoints (`name@n`) past a decision inside the switch, where an error goes forward too (see MatrixWorld). */
  forwardOnError?: string[];
  /** Operation failpoints of a documented gap, run by known-failures.ts instead (see MatrixWorld). */
  knownFailures?: string[];
}

/** A built live world. */
export interface LiveWorld {
  scenario: LiveScenario;
  dirs: WorldDirs;
  templateDir: string;
  op: ChildOp;
  /** The slots written (each writeBytes long), the last one by every reset. */
  offsets: number[];
  before: LivePicture;
}

/** VIR_DOMAIN_START_PAUSED */
const START_PAUSED = 1;

/**
 * How the world's domains start: paused in a UEFI world, so that OVMF never runs (a
 * snapshot of a paused domain is paused, and so is a revert to it; the rows revert a
 * disk-only snapshot with --paused).
 */
const startFlags = (scenario: LiveScenario): number => (scenario.nvram ? START_PAUSED : 0);

/** Domain `name`'s definition `xml`, for the first domain with the scenario's vTPM or UEFI firmware (its NVRAM `<images>/<name>_VARS.fd`, made now). */
async function withStateFiles(scenario: LiveScenario, dirs: WorldDirs, name: string, xml: string, first: boolean): Promise<string> {
  if (!first) return xml;
  const tpmXml = scenario.tpm ? withTpm(xml) : xml;
  return scenario.nvram ? withNvram(tpmXml, join(dirs.imageDirs[0]!, `${name}_VARS.fd`)) : tpmXml;
}

/**
 * A vTPM world's round of TPM state: the domain's permanent state file (through its TPM
 * path, so in whichever generation it leads to) replaced by another TPM's, one per round
 * (manufactured once per world under its scratch directory: swtpm refuses a state whose
 * bytes were changed by hand, so each round's is a whole valid one). It stands for the
 * guest changing the TPM's non-volatile state, and it is what every snapvirt step moves: a
 * create copies the file, a revert through a new QEMU seeds the new generation with a
 * snapshot's copy, a delete removes copies. swtpm reads the file only when it starts, so the
 * domain is shut off for the change and started again: the file is then always the state the
 * running swtpm serves, as in a real domain (a file swtpm does not hold would not match the
 * TPM state a memory snapshot saves, and a revert handing swtpm both is refused by libtpms:
 * "EPSeed does not match"). swtpm rewrites the file only when a TPM command changes that
 * state (none in this world: see live-picture.ts) or when QEMU hands it a saved state (a
 * revert with memory).
 */
async function tpmRound(dirs: WorldDirs, dom: Domain, round: number): Promise<() => Promise<void>> {
  const state = await manufactureTpmState(parseDomainXML(await dom.getXMLDesc()), join(dirs.scratchDir, 'tpm-rounds', String(round)));
  return () => copyFile(state, join(tpmStateDirFor(dirs.stateDir, dom.getUUIDString()), TPM2_STATE_FILE));
}

/**
 * A UEFI world's round of NVRAM: 4 KiB of the variable store written over with the round's
 * pattern (firmware-world.ts's writeNvram, as the offline `… with NVRAM` rows do), standing
 * for the guest setting a variable; a create copies the file, a revert writes a copy back, a
 * delete removes copies. The domain is shut off for the change and started again, as for the
 * TPM, because writing the file under a QEMU that has it as pflash is not sound, paused or
 * not (measured with QEMU 7.2): QEMU reads the whole store into the flash device's memory
 * once, at start, and never reads the file again; a memory snapshot saves that memory, not
 * the file; and after a load (snapshot-load, or a new QEMU's incoming migration) QEMU writes
 * its flash memory back over the whole file at the next run state change. A file changed
 * under QEMU would thus differ from what the guest sees and from what a memory snapshot
 * holds, and a later resume would undo the change: no real domain is like that. Restarted,
 * the file is always the flash memory the running QEMU holds (live-picture.ts checks it).
 */
async function nvramRound(dom: Domain, round: number): Promise<() => Promise<void>> {
  const nvram = nvramPathOf(parseDomainXML(await dom.getXMLDesc()));
  if (nvram === undefined) throw new Error(`domain '${dom.getName()}' has no NVRAM`);
  return () => writeNvram(nvram, (0x11 + round * 16) & 0xff, round);
}

/**
 * The round of a world's state files beside the disks (the TPM's and the NVRAM's, see
 * above), written while the domain is shut off: a running domain is destroyed first and
 * started again after (as it was started: paused in a UEFI world).
 */
async function stateFileRound(scenario: LiveScenario, dirs: WorldDirs, dom: Domain, round: number): Promise<void> {
  const writes: Array<() => Promise<void>> = [];
  if (scenario.tpm) writes.push(await tpmRound(dirs, dom, round));
  if (scenario.nvram) writes.push(await nvramRound(dom, round));
  if (writes.length === 0) return;
  const running = await dom.isActive();
  if (running) await dom.destroy();
  for (const write of writes) await write();
  if (running) await dom.create(startFlags(scenario));
}

/**
 * A writer of one round of guest data per call: pattern 0x11 + 16·round + disk (+ 8·domain),
 * at slot `round`, after the state files' round (unless `roundDone`: the caller did it before the start).
 */
function dataWriter(
  scenario: LiveScenario, doms: readonly Domain[], firstRound: number, dirs: WorldDirs, roundDone = false,
): { write(): Promise<void>; offsets: number[] } {
  const bytes = scenario.writeBytes ?? 64 << 10;
  const slotsPerDisk = Math.floor((scenario.diskBytes ?? 1 << 20) / bytes);
  const offsets: number[] = [];
  let round = firstRound;
  return {
    offsets,
    async write() {
      if (round >= slotsPerDisk) throw new Error(`${scenario.name}: no free slot for round ${round}`);
      if (!roundDone) await stateFileRound(scenario, dirs, doms[0]!, round);
      for (const [k, dom] of doms.entries()) {
        const def = parseDomainXML(await dom.getXMLDesc());
        for (const [i, d] of def.disks.entries()) await guestWrite(dom, d.target, (0x11 + round * 16 + i + k * 8) & 0xff, round * bytes, bytes);
      }
      offsets.push(round * bytes);
      round++;
    },
  };
}

/** Starts the world's domains and writes the round of data every case starts with. */
async function startAndWrite(w: Omit<LiveWorld, 'before'>): Promise<void> {
  const conn = await openAt(w.dirs.stateDir);
  try {
    const doms: Domain[] = [];
    for (const name of domainNames(w.scenario.domains)) doms.push(await conn.domainLookupByName(name));
    const round = w.offsets.length - 1;
    // The state files' round before the start, which reads them (no restart needed).
    await stateFileRound(w.scenario, w.dirs, doms[0]!, round);
    for (const dom of doms) await dom.create(startFlags(w.scenario));
    await dataWriter(w.scenario, doms, round, w.dirs, true).write();
  } finally {
    await conn.close();
  }
}

/** Stops every QEMU of the world (whatever a case left running). */
export async function stopWorld(dirs: WorldDirs): Promise<void> {
  if (existsSync(dirs.stateDir)) await killAllQemu(dirs.stateDir);
}

/** Puts the pristine world back at its path and starts it. */
export async function resetLiveWorld(w: Omit<LiveWorld, 'before'>): Promise<void> {
  await stopWorld(w.dirs);
  await rm(w.dirs.root, { recursive: true, force: true });
  await run('cp', ['-a', '--sparse=always', w.templateDir, w.dirs.root]);
  await startAndWrite(w);
}

/** The picture of a live world. */
export function pictureOfLiveWorld(w: Omit<LiveWorld, 'before'>): Promise<LivePicture> {
  const [first, ...others] = domainNames(w.scenario.domains);
  return livePictureOf(w.dirs, first!, w.offsets, w.scenario.writeBytes ?? 64 << 10, others);
}

/** Builds `scenario` at `<base>/w` (running while it prepares), keeps the template, and takes the before picture. */
export async function buildLiveWorld(base: string, scenario: LiveScenario): Promise<LiveWorld> {
  const root = join(base, 'w');
  const dirs: WorldDirs = { root, stateDir: join(root, 'state'), imageDirs: [join(root, 'images')], scratchDir: join(base, 'scratch') };
  await mkdir(dirs.imageDirs[0]!, { recursive: true, mode: 0o700 });
  await mkdir(dirs.scratchDir, { recursive: true, mode: 0o700 });
  const conn = await openAt(dirs.stateDir);
  let op: ChildOp;
  let offsets: number[];
  try {
    const doms: Domain[] = [];
    for (const name of domainNames(scenario.domains)) {
      const disks = await makeImages(dirs.imageDirs[0]!, name, Array(scenario.disks).fill('qcow2'), scenario.diskBytes ?? 1 << 20);
      doms.push(await conn.domainDefineXML(await withStateFiles(scenario, dirs, name, domainXml(name, disks), doms.length === 0)));
    }
    for (const dom of doms) await dom.create(startFlags(scenario));
    const writer = dataWriter(scenario, doms, 0, dirs);
    await writer.write();
    op = await scenario.prepare({ conn, dom: doms[0]!, doms, dirs, writeData: () => writer.write() });
    // The slot of the round every reset writes.
    offsets = [...writer.offsets, writer.offsets.length * (scenario.writeBytes ?? 64 << 10)];
    for (const dom of doms) if (await dom.isActive()) await dom.destroy();
  } finally {
    await conn.close();
    await stopWorld(dirs);
  }
  const templateDir = join(base, 'template');
  await rename(root, templateDir);
  const w = { scenario, dirs, templateDir, op, offsets };
  await resetLiveWorld(w);
  return { ...w, before: await pictureOfLiveWorld(w) };
}

/** The live world as the matrix engine sees it. */
export function liveMatrixWorld(w: LiveWorld): MatrixWorld<LivePicture> {
  return {
    name: w.scenario.name,
    stateDir: w.dirs.stateDir,
    op: w.op,
    before: w.before,
    reset: () => resetLiveWorld(w),
    picture: () => pictureOfLiveWorld(w),
    imageEntries: (p) => p.images.flat(),
    ...(w.scenario.errorText ? { errorText: w.scenario.errorText } : {}),
    ...(w.scenario.forwardOnCrash ? { forwardOnCrash: w.scenario.forwardOnCrash } : {}),
    ...(w.scenario.forwardOnError ? { forwardOnError: w.scenario.forwardOnError } : {}),
    ...(w.scenario.knownFailures ? { knownFailures: w.scenario.knownFailures } : {}),
  };
}
