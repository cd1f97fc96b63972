/**
 * A guest owns its raw disk's content: it can write a qcow2 header there naming any host
 * file as the backing file. snapvirt must never read that header (issue 12, item 3), so
 * every snapshot command on such a disk, shut off and running, finishes and opens nothing
 * the header names: a FIFO (an open would block, and wake a writer waiting on it), a
 * regular host file, a device node. Each CLI command runs under strace (every open and
 * openat of the command and of the qemu-img it runs), with a FIFO writer waiting too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { domainXml, type FixtureDisk } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';
import { killAllQemu } from '../support/active-env.js';

const run = promisify(execFile);
const SNAPVIRT = fileURLToPath(new URL('../../../../../bin/snapvirt', import.meta.url));
/** A command still running after this long is taken as hung and killed (not a timing assertion). */
const HANG_MS = 60_000;

interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Every path the command (and its children) opened, from strace. */
  opened: string[];
}

/**
 * Runs the snapvirt CLI under strace on `env`'s state dir. `start` runs without it: strace
 * would follow the detached QEMU it leaves running and never return.
 */
async function cli(env: QemuTestEnv, args: string[]): Promise<CliResult> {
  const log = join(env.tmp.path, `strace-${Date.now()}-${Math.random().toString(16).slice(2)}.log`);
  const traced = args[0] !== 'start';
  const argv = [process.execPath, SNAPVIRT, '-c', 'qemu:///session', ...args];
  const res = await new Promise<Omit<CliResult, 'opened'>>((resolve) => {
    const child = execFile(traced ? 'strace' : argv[0]!, traced ? ['-f', '-qq', '-e', 'trace=open,openat,openat2', '-o', log, ...argv] : argv.slice(1), {
      env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir }, timeout: HANG_MS, killSignal: 'SIGKILL',
    }, (_err, stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stdout: String(stdout), stderr: String(stderr) }));
  });
  const opened = (await readFile(log, 'utf8').catch(() => '')).split('\n')
    .map((line) => /open(?:at2?)?\((?:[A-Z_]+|-?\d+), "([^"]*)"/.exec(line)?.[1] ?? /open\("([^"]*)"/.exec(line)?.[1])
    .filter((p): p is string => p !== undefined);
  return { ...res, opened };
}

/** Writes a qcow2 header naming `backing` (format raw) into the first 64 KiB of raw image `disk`, as a guest could. */
async function qcow2HeaderBytes(dir: string, backing: string): Promise<Buffer> {
  const header = join(dir, 'guest-header.qcow2');
  // -u: the backing is named, never opened; 64 KiB holds the whole header and the name.
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', backing, '-F', 'raw', header, '1M']);
  return (await readFile(header)).subarray(0, 65536);
}

/** The three things a guest's header may name, each in a directory snapvirt has no business in. */
interface Target {
  kind: string;
  path: string;
  /** A process that opened the FIFO for writing: it stays blocked unless someone opens it for reading. */
  writer?: ChildProcess;
  /** True once the FIFO writer's open returned: someone opened the FIFO. */
  fifoOpened(): boolean;
  release(): Promise<void>;
}

async function makeTarget(kind: 'fifo' | 'host-file' | 'device', dir: string): Promise<Target> {
  if (kind === 'device') return { kind, path: '/dev/zero', fifoOpened: () => false, release: async () => undefined };
  if (kind === 'host-file') {
    const path = join(dir, 'secret');
    await writeFile(path, 'host secret\n', { mode: 0o600 });
    return { kind, path, fifoOpened: () => false, release: async () => undefined };
  }
  const path = join(dir, 'fifo');
  await run('mkfifo', [path]);
  let opened = false;
  const writer = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(path)}, 'w'); process.stdout.write('opened')`],
    { stdio: ['ignore', 'pipe', 'ignore'] });
  writer.stdout?.on('data', () => { opened = true; });
  return {
    kind, path, writer,
    fifoOpened: () => opened,
    async release() {
      if (writer.exitCode !== null || writer.signalCode !== null) return;
      const exited = new Promise<void>((r) => writer.once('exit', () => r()));
      // Opening the read end (non-blocking) lets the writer's open return; it then exits.
      const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      await exited;
      await fh.close();
    },
  };
}

/** The CLI finished by itself and opened nothing the guest's header names. */
function assertContained(r: CliResult, what: string, target: Target): void {
  assert.equal(r.signal, null, `${what}: killed after ${HANG_MS} ms (hung); stderr: ${r.stderr}`);
  assert.ok(what.startsWith('start') || r.opened.length > 0, `${what}: strace recorded the opens`);
  assert.deepEqual(r.opened.filter((p) => p === target.path), [], `${what} opened ${target.path}`);
  assert.equal(target.fifoOpened(), false, `${what}: the FIFO was opened`);
}

/** A domain on one raw disk whose content starts with a guest-written qcow2 header naming `target`. */
async function guestDomain(t: { after(fn: () => Promise<void>): void }, kind: 'fifo' | 'host-file' | 'device') {
  const env = await openQemuTestEnv();
  const outside = await makeTempDir('snapvirt-outside-');
  const target = await makeTarget(kind, outside.path);
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await target.release();
    await env.cleanup();
    await outside.cleanup();
  });
  const raw = join(env.imageDir, 'guest.raw');
  await run('qemu-img', ['create', '-q', '-f', 'raw', raw, String(16 << 20)]);
  const header = await qcow2HeaderBytes(outside.path, target.path);
  const disk: FixtureDisk = { target: 'vda', path: raw, format: 'raw' };
  const xmlPath = join(env.tmp.path, 'guest.xml');
  await writeFile(xmlPath, domainXml('guest', [disk]));
  return { env, target, raw, header, xmlPath, headerFile: join(outside.path, 'guest-header.qcow2') };
}

for (const kind of ['fifo', 'host-file', 'device'] as const) {
  test(`shut off: a raw disk whose guest wrote a qcow2 header naming a ${kind} as backing: every command finishes and opens nothing outside`, async (t) => {
    const w = await guestDomain(t, kind);
    const fh = await open(w.raw, 'r+');
    await fh.write(w.header, 0, w.header.length, 0);
    await fh.close();
    const step = async (args: string[], expectCode: number, out?: RegExp): Promise<CliResult> => {
      const r = await cli(w.env, args);
      assertContained(r, args.join(' '), w.target);
      assert.equal(r.code, expectCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      if (out) assert.match(r.stdout + r.stderr, out);
      return r;
    };
    await step(['define', w.xmlPath], 0);
    await step(['snapshot-check', 'guest'], 0, /consistent/);
    await step(['snapshot-create-as', 'guest', 'i1'], 1, /internal snapshot for disk vda unsupported for storage type raw/);
    await step(['snapshot-create-as', 'guest', 'e1', '--disk-only'], 0, /Domain snapshot e1 created/);
    await step(['snapshot-check', 'guest'], 0, /consistent/);
    await step(['snapshot-create-as', 'guest', 'e2', '--disk-only'], 0, /Domain snapshot e2 created/);
    await step(['snapshot-revert', 'guest', 'e1'], 0, /reverted/);
    await step(['snapshot-check', 'guest'], 0, /consistent/);
    await step(['snapshot-delete', 'guest', 'e2'], 0, /deleted/);
    await step(['snapshot-delete', 'guest', 'e1'], 0, /deleted/);
    await step(['snapshot-check', 'guest', '--repair'], 0);
    // The raw disk still holds exactly what the guest wrote: nothing read it as qcow2 and wrote to it.
    assert.deepEqual((await readFile(w.raw)).subarray(0, w.header.length), w.header);
  });
}

for (const kind of ['fifo', 'host-file'] as const) {
  test(`running: the guest writes a qcow2 header naming a ${kind} into its raw disk; check, create, delete finish and open nothing outside`, async (t) => {
    const w = await guestDomain(t, kind);
    const step = async (args: string[], expectCode: number, out?: RegExp): Promise<void> => {
      const r = await cli(w.env, args);
      assertContained(r, args.join(' '), w.target);
      assert.equal(r.code, expectCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      if (out) assert.match(r.stdout + r.stderr, out);
    };
    await step(['define', w.xmlPath], 0);
    await step(['start', 'guest'], 0);
    // The guest's own write, through its virtio disk.
    await step(['qemu-monitor-command', 'guest', '--hmp',
      `qemu-io -d /machine/peripheral/disk-vda/virtio-backend "write -s ${w.headerFile} 0 65536"`], 0);
    assert.deepEqual((await readFile(w.raw)).subarray(0, 104), w.header.subarray(0, 104), 'the guest wrote the header');
    await step(['snapshot-check', 'guest'], 0, /consistent/);
    await step(['snapshot-create-as', 'guest', 'i1'], 1);
    await step(['snapshot-create-as', 'guest', 'e1', '--disk-only'], 0, /Domain snapshot e1 created/);
    await step(['snapshot-check', 'guest'], 0, /consistent/);
    await step(['snapshot-delete', 'guest', 'e1'], 0, /deleted/);
    await step(['snapshot-check', 'guest'], 0, /consistent/);
    await step(['destroy', 'guest'], 0);
    await step(['snapshot-check', 'guest'], 0, /consistent/);
  });
}
