/**
 * Building, cloning and driving crash-test worlds: a shut-off domain 'vm' with N qcow2
 * disks (or, for a group, domains 'vm', 'vm2'… with N each) under one root directory, prepared once through the public API and then copied
 * back to the same path before every case (images and metadata hold absolute paths, so a
 * world can only be reused at the path it was built at).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Connection } from '../../src/api/connection.js';
import type { Domain } from '../../src/api/domain.js';
import { parseDomainXML } from '../../src/conf/domain-xml.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { writePattern } from '../helpers/qemu-io.js';
import { killGroupOf } from '../helpers/run-child-op.js';
import type { ChildOp, ChildReport } from './crash-child.js';
import { openAt, pictureOf, type WorldDirs, type WorldPicture } from './world-state.js';
import { withNvram, withTpm, writeNvram, writeTpmState } from './firmware-world.js';
import { TPM2_STATE_FILE, tpmStateDirFor } from '../../src/drivers/qemu/tpm/swtpm-process.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

const run = promisify(execFile);

/** What a scenario's prepare() gets: the open connection, the domain(s), and a data writer. */
export interface PrepareContext {
  conn: Connection;
  /** The first domain ('vm'). */
  dom: Domain;
  /** Every domain of the world, `dom` first (a group's members). */
  doms: Domain[];
  dirs: WorldDirs;
  /** Writes a fresh pattern into every disk of every domain as it is now (its current source), at a fresh offset. */
  writeData(): Promise<void>;
}

/** One operation of the crash matrix and the world it runs on. */
export interface Scenario {
  name: string;
  /** Disks of each domain. */
  disks: number;
  /** Domains in the world (default 1; a group's scenario has more): 'vm', 'vm2', 'vm3'… */
  domains?: number;
  /** Virtual size of each disk (default 1 MiB). */
  diskBytes?: number;
  /** Bytes each writeData() writes per disk (default 4 KiB). */
  writeBytes?: number;
  /** A UEFI domain: an NVRAM file that writeData() changes too (firmware-world.ts). */
  nvram?: boolean;
  /** A domain with a vTPM: its state (made by the first snapshot) writeData() changes too. */
  tpm?: boolean;
  /** Builds the snapshots the operation needs and returns the operation. */
  prepare(ctx: PrepareContext): Promise<ChildOp>;
}

/** A built world: its directories, the template copy, the operation and its before picture. */
export interface BuiltWorld {
  scenario: Scenario;
  dirs: WorldDirs;
  templateDir: string;
  op: ChildOp;
  before: WorldPicture;
}

/** The domain name every world uses (its first domain, when it has several). */
export const DOMAIN = 'vm';

/** The names of a world's `count` domains: 'vm', then 'vm2', 'vm3'… */
export function domainNames(count = 1): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? DOMAIN : `${DOMAIN}${i + 1}`));
}

/** The picture of a built world: every one of its domains. */
export function worldPictureOf(dirs: WorldDirs, scenario: Pick<Scenario, 'domains'>): Promise<WorldPicture> {
  const [first, ...others] = domainNames(scenario.domains);
  return pictureOf(dirs, first!, others);
}

/** Builds `scenario` at `<base>/w` and keeps a pristine copy at `<base>/template`. */
export async function buildWorld(base: string, scenario: Scenario): Promise<BuiltWorld> {
  const root = join(base, 'w');
  const dirs: WorldDirs = { root, stateDir: join(root, 'state'), imageDirs: [join(root, 'images')], scratchDir: join(base, 'scratch') };
  await mkdir(dirs.imageDirs[0]!, { recursive: true, mode: 0o700 });
  await mkdir(dirs.scratchDir, { recursive: true, mode: 0o700 });
  const writeBytes = scenario.writeBytes ?? 4096;
  let round = 0;
  const conn = await openAt(dirs.stateDir);
  let op: ChildOp;
  try {
    const doms: Domain[] = [];
    // A UEFI world's NVRAM belongs to its first domain.
    const nvram = scenario.nvram ? join(dirs.imageDirs[0]!, `${DOMAIN}_VARS.fd`) : undefined;
    for (const name of domainNames(scenario.domains)) {
      const disks = await makeImages(dirs.imageDirs[0]!, name, Array(scenario.disks).fill('qcow2'), scenario.diskBytes ?? 1 << 20);
      const xml = domainXml(name, disks);
      const firmware = nvram && name === DOMAIN ? await withNvram(xml, nvram) : xml;
      doms.push(await conn.domainDefineXML(scenario.tpm && name === DOMAIN ? withTpm(firmware) : firmware));
    }
    const writeData = async (): Promise<void> => {
      const offset = (round * writeBytes) % ((scenario.diskBytes ?? 1 << 20) - writeBytes);
      for (const [k, dom] of doms.entries()) {
        const def = parseDomainXML(await dom.getXMLDesc());
        for (const [i, d] of def.disks.entries()) {
          // Each domain's disks get patterns of their own (the first domain's as before).
          await writePattern(d.sourcePath!, d.format ?? 'raw', (0x11 + round * 16 + i + k * 8) & 0xff, offset, writeBytes);
        }
      }
      if (nvram) await writeNvram(nvram, (0x11 + round * 16) & 0xff, round);
      if (scenario.tpm) await writeTpmState(join(tpmStateDirFor(dirs.stateDir, doms[0]!.getUUIDString()), TPM2_STATE_FILE), (0x11 + round * 16) & 0xff, round);
      round++;
    };
    await writeData();
    op = await scenario.prepare({ conn, dom: doms[0]!, doms, dirs, writeData });
  } finally {
    await conn.close();
  }
  const before = await worldPictureOf(dirs, scenario);
  const templateDir = join(base, 'template');
  await rename(root, templateDir);
  return { scenario, dirs, templateDir, op, before };
}

/** Puts the pristine world back at its path. */
export async function resetWorld(w: BuiltWorld): Promise<void> {
  await rm(w.dirs.root, { recursive: true, force: true });
  await run('cp', ['-a', '--sparse=always', w.templateDir, w.dirs.root]);
}

/** How a child ended. */
export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  report: ChildReport | undefined;
  stderr: string;
  /** True when the child ran past the hang limit and was killed by us. */
  hung: boolean;
}

/** A child still running. */
export interface RunningChild {
  child: ChildProcess;
  done: Promise<ChildOutcome>;
  /** With `liveTrace`: the failpoints reached so far, with ms since the start, in order. */
  points: { name: string; ms: number }[];
  /** With `liveTrace`: calls `listener` on every failpoint reached from now on. */
  onPoint(listener: (name: string) => void): () => void;
}

/** How to start a child. */
export interface ChildOptions {
  /** Load the failpoint trace hook. */
  trace?: boolean;
  /** Load the trace hook and stream each failpoint reached (fd 3) into RunningChild.points. */
  liveTrace?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** No single offline operation on these small worlds takes long; past this, it hangs. */
const HANG_LIMIT_MS = 120_000;

const CHILD_SCRIPT = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const TRACE_REGISTER = fileURLToPath(new URL('./failpoint-trace-register.js', import.meta.url));

/** Starts the crash child on `stateDir` with `failpoints`; `trace` loads the failpoint trace hook. */
export function startChild(stateDir: string, op: ChildOp, failpoints: string, opts: ChildOptions = {}): RunningChild {
  const traced = opts.trace === true || opts.liveTrace === true;
  const args = traced ? ['--import', TRACE_REGISTER, CHILD_SCRIPT, JSON.stringify(op)] : [CHILD_SCRIPT, JSON.stringify(op)];
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      ...opts.env,
      SNAPVIRT_CRASH_CHILD: '1',
      SNAPVIRT_STATE_DIR: stateDir,
      SNAPVIRT_FAILPOINTS: failpoints,
      SNAPVIRT_FAILPOINT_TRACE: traced ? '1' : '0',
      SNAPVIRT_FAILPOINT_TRACE_FD3: opts.liveTrace ? '1' : '0',
    },
    stdio: opts.liveTrace ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    // Its own process group, so killGroup() takes its qemu-img children down with it, and
    // a child that SIGKILLs itself at a `crash` failpoint leaves no qemu-img running: the
    // harness kills the group once the child is gone, as a machine crash would. (QEMU runs
    // in a session of its own and lives on, as a running domain does.)
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const points: { name: string; ms: number }[] = [];
  const listeners = new Set<(name: string) => void>();
  let partial = '';
  (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const name of lines) {
      points.push({ name, ms: performance.now() - started });
      for (const l of listeners) l(name);
    }
  });
  let hung = false;
  const timer = setTimeout(() => { hung = true; killGroupOf(child.pid); }, HANG_LIMIT_MS);
  const done = new Promise<ChildOutcome>((resolve) => {
    child.once('exit', () => killGroupOf(child.pid));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      let report: ChildReport | undefined;
      const line = stdout.trim().split('\n').pop();
      try {
        report = line ? JSON.parse(line) as ChildReport : undefined;
      } catch {
        report = undefined;
      }
      resolve({ code, signal, report, stderr, hung });
    });
  });
  const onPoint = (listener: (name: string) => void): (() => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  return { child, done, points, onPoint };
}

/** SIGKILLs a child and every process it started (qemu-img), as a machine crash would. */
export function killGroup(c: RunningChild): void {
  killGroupOf(c.child.pid);
}

/** Runs the crash child to its end. */
export function runChild(stateDir: string, op: ChildOp, failpoints: string, opts: ChildOptions = {}): Promise<ChildOutcome> {
  return startChild(stateDir, op, failpoints, opts).done;
}

/** One line about a child's end, for failure messages. */
export function outcomeText(o: ChildOutcome): string {
  const how = o.hung ? 'HUNG (killed)' : o.signal ? `killed by ${o.signal}` : `exit ${o.code}`;
  const what = o.report ? (o.report.ok ? 'ok' : `error: ${o.report.error}`) : 'no report';
  return `${how}, ${what}${o.stderr.trim() ? `, stderr: ${o.stderr.trim().slice(0, 500)}` : ''}`;
}
