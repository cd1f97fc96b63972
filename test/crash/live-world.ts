/**
 * Crash-test worlds whose domain runs: a domain 'vm' with N qcow2 disks (a group's world:
 * 'vm', 'vm2'… with N each, all running), started under
 * TCG (no guest OS: SeaBIOS idles), with data written into each running disk through HMP
 * qemu-io before and between its snapshots. A running QEMU cannot be copied, so the
 * world's files are kept as a template with the domain shut off (QEMU stopped with
 * SIGTERM, which flushes), and each reset copies them back, starts the domain again and
 * writes one more round of data that no snapshot holds yet: the running guest's own
 * writes, which every case must keep (or, for a revert, drop) exactly.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
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
import { livePictureOf, type LivePicture } from './live-picture.js';
import type { MatrixWorld } from './matrix.js';
import { openAt, type WorldDirs } from './world-state.js';

const run = promisify(execFile);

/** What a live scenario's prepare() gets: the domain (running) and a writer of guest data. */
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
  /** Builds the snapshots the operation needs (the domain runs) and returns the operation. */
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

/** A writer of one round of guest data per call: pattern 0x11 + 16·round + disk (+ 8·domain), at slot `round`. */
function dataWriter(scenario: LiveScenario, doms: readonly Domain[], firstRound: number): { write(): Promise<void>; offsets: number[] } {
  const bytes = scenario.writeBytes ?? 64 << 10;
  const slotsPerDisk = Math.floor((scenario.diskBytes ?? 1 << 20) / bytes);
  const offsets: number[] = [];
  let round = firstRound;
  return {
    offsets,
    async write() {
      if (round >= slotsPerDisk) throw new Error(`${scenario.name}: no free slot for round ${round}`);
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
    for (const dom of doms) await dom.create();
    await dataWriter(w.scenario, doms, w.offsets.length - 1).write();
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
      doms.push(await conn.domainDefineXML(domainXml(name, disks)));
    }
    for (const dom of doms) await dom.create();
    const writer = dataWriter(scenario, doms, 0);
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
