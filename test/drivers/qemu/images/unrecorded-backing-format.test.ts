/**
 * A chain in which some layer's header names a backing file but not its format (made by an
 * old `qemu-img create -b` without -F, or a header edited by hand) can only be opened by
 * probing that file: whoever writes it (a guest, when it is a raw disk) chooses how it is
 * read. libvirt refuses such a chain wherever it reads it; snapvirt refuses it, with
 * libvirt's message, before qemu-img or QEMU opens it: offline internal and external
 * create, offline internal revert, start, a running revert's new QEMU, and the
 * block-commit of a running delete. The
 * "guest" file below is a raw image whose content is a qcow2 header naming a host secret;
 * each command runs under strace and must open nothing beyond the top layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { domainXml } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';
import { killAllQemu } from '../support/active-env.js';

const run = promisify(execFile);
const SNAPVIRT = fileURLToPath(new URL('../../../../../bin/snapvirt', import.meta.url));
/** A command still running after this long is taken as hung and killed (not a timing assertion). */
const HANG_MS = 60_000;

/** Runs the CLI under strace; returns its exit code, output and every path it or its children opened. */
async function traced(env: QemuTestEnv, args: string[]): Promise<{ code: number | null; out: string; opened: string[] }> {
  const log = join(env.tmp.path, `strace-${args[0]}-${Math.random().toString(16).slice(2)}.log`);
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = execFile('strace', ['-f', '-qq', '-e', 'trace=open,openat,openat2', '-o', log, process.execPath, SNAPVIRT, '-c', 'qemu:///session', ...args], {
      env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir }, timeout: HANG_MS, killSignal: 'SIGKILL',
    }, (_err, stdout, stderr) => resolve({ code: child.exitCode, out: String(stdout) + String(stderr) }));
  });
  const opened = (await readFile(log, 'utf8').catch(() => '')).split('\n')
    .map((line) => /open(?:at2?)?\((?:(?:[A-Z_]+|-?\d+), )?"([^"]*)"/.exec(line)?.[1])
    .filter((p): p is string => p !== undefined);
  return { ...r, opened };
}

/** Turns `image`'s backing-format header extension into an unknown (ignored) one: the format is no longer recorded. */
async function forgetBackingFormat(image: string): Promise<void> {
  const fh = await open(image, 'r+');
  try {
    const buf = Buffer.alloc(65536);
    await fh.read(buf, 0, buf.length, 0);
    let off = buf.readUInt32BE(100); // header_length (v3): the extensions follow
    for (;;) {
      const type = buf.readUInt32BE(off);
      assert.notEqual(type, 0, 'the header records a backing format to forget');
      if (type === 0xe2792aca) {
        await fh.write(Buffer.from([0x12, 0x34, 0x56, 0x78]), 0, 4, off);
        return;
      }
      off += 8 + Math.ceil(buf.readUInt32BE(off + 4) / 8) * 8;
    }
  } finally {
    await fh.close();
  }
}

/**
 * A domain `vm` on base.qcow2, whose backing is the guest's raw image (recorded raw until
 * forgetBackingFormat): a qcow2 header naming a host secret, as a guest could write one.
 */
async function setUp(t: { after(fn: () => Promise<void>): void }) {
  const env = await openQemuTestEnv();
  const outside = await makeTempDir('snapvirt-outside-');
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
    await outside.cleanup();
  });
  const secret = join(outside.path, 'secret');
  await writeFile(secret, 'host secret\n', { mode: 0o600 });
  const guest = join(outside.path, 'guest.raw');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', secret, '-F', 'raw', guest, String(16 << 20)]);
  const base = join(env.imageDir, 'base.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', guest, '-F', 'raw', base]);
  const xml = join(env.tmp.path, 'vm.xml');
  await writeFile(xml, domainXml('vm', [{ target: 'vda', path: base, format: 'qcow2' }]));
  const cli = async (...args: string[]) => traced(env, args);
  assert.equal((await cli('define', xml)).code, 0);
  const refused = (top: string) => `error: Requested operation is not valid: format of backing image '${guest}' of image '${top}' was not specified `
    + 'in the image metadata (See https://libvirt.org/kbase/backing_chains.html for troubleshooting)';
  /** The command failed with libvirt's message and opened neither the guest's image nor what its header names. */
  const assertRefused = async (top: string, ...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.out}`);
    assert.ok(r.out.includes(refused(top)), `${args.join(' ')}: ${r.out}`);
    assert.ok(r.opened.length > 0, 'strace recorded the opens');
    assert.deepEqual(r.opened.filter((p) => p === guest || p === secret), [], `${args.join(' ')} opened beyond the top layer`);
  };
  return { env, base, guest, cli, assertRefused };
}

const shutOff: Array<[string, string[]]> = [
  ['internal create', ['snapshot-create-as', 'vm', 'i2']],
  ['external create', ['snapshot-create-as', 'vm', 'e1', '--disk-only']],
  ['internal revert', ['snapshot-revert', 'vm', 'i1']],
  ['start', ['start', 'vm']],
];
for (const [what, args] of shutOff) {
  test(`shut off: ${what} on a chain with an unrecorded backing format is refused, nothing opened below the top, nothing changed`, async (t) => {
    const { env, base, cli, assertRefused } = await setUp(t);
    assert.equal((await cli('snapshot-create-as', 'vm', 'i1')).code, 0);
    await forgetBackingFormat(base);
    const before = await readFile(base);
    await assertRefused(base, ...args);
    // Nothing changed: the image, the snapshot list, the domain's state and files.
    assert.deepEqual(await readFile(base), before);
    assert.equal((await cli('snapshot-list', 'vm', '--name')).out.trim(), 'i1');
    assert.match((await cli('domstate', 'vm')).out, /shut off/);
    assert.deepEqual((await run('ls', [env.imageDir])).stdout.trim().split('\n'), ['base.qcow2']);
  });
}

test('running: a delete whose block-commit lands on a layer with an unrecorded backing format is refused, nothing opened below the top', async (t) => {
  const { env, base, cli, assertRefused } = await setUp(t);
  // The format is recorded at start (QEMU opens the chain as declared) and forgotten while it runs.
  const started = await run(process.execPath, [SNAPVIRT, '-c', 'qemu:///session', 'start', 'vm'], { env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir } });
  assert.match(started.stdout, /Domain 'vm' started/);
  assert.equal((await cli('snapshot-create-as', 'vm', 'e1', '--disk-only')).code, 0);
  await forgetBackingFormat(base);
  await assertRefused(base, 'snapshot-delete', 'vm', 'e1');
  assert.equal((await cli('snapshot-list', 'vm', '--name')).out.trim(), 'e1');
  assert.match((await cli('domstate', 'vm')).out, /running/);
});

test('running: headers rewritten under QEMU into a loop (a lower layer backed by the top) make a live external create fail with libvirt\'s error, nothing written', async (t) => {
  const { env, base, cli } = await setUp(t);
  const started = await run(process.execPath, [SNAPVIRT, '-c', 'qemu:///session', 'start', 'vm'], { env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir } });
  assert.match(started.stdout, /Domain 'vm' started/);
  assert.equal((await cli('snapshot-create-as', 'vm', 'e1', '--disk-only')).code, 0);
  const top = join(env.imageDir, 'base.e1');
  // QEMU holds base.qcow2 as a backing node; its graph cannot loop, but the header on disk
  // can be changed under it. Rebase a copy, then put its header cluster back (the only
  // cluster rebase -u writes), as anyone with write access to the file could.
  const copy = join(env.tmp.path, 'base-copy.qcow2');
  await writeFile(copy, await readFile(base));
  await run('qemu-img', ['rebase', '-q', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', top, copy]);
  const header = (await readFile(copy)).subarray(0, 65536);
  const fh = await open(base, 'r+');
  await fh.write(header, 0, header.length, 0);
  await fh.close();
  const r = await cli('snapshot-create-as', 'vm', 'e2', '--disk-only');
  assert.equal(r.code, 1, r.out);
  assert.ok(r.out.includes(`error: internal error: backing store for ${top} (${top}) is self-referential`), r.out);
  assert.deepEqual((await run('ls', [env.imageDir])).stdout.trim().split('\n').sort(), ['base.e1', 'base.qcow2']);
  assert.equal((await cli('snapshot-list', 'vm', '--name')).out.trim(), 'e1');
  assert.match((await cli('domstate', 'vm')).out, /running/);
});

test('running: a revert that needs a new QEMU on a chain with an unrecorded backing format is refused before the spawn; the old QEMU runs on, nothing left behind', async (t) => {
  const { env, base, cli, assertRefused } = await setUp(t);
  assert.equal((await cli('snapshot-create-as', 'vm', 'e1', '--disk-only')).code, 0);
  const started = await run(process.execPath, [SNAPVIRT, '-c', 'qemu:///session', 'start', 'vm'], { env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir } });
  assert.match(started.stdout, /Domain 'vm' started/);
  await forgetBackingFormat(base);
  await assertRefused(base, 'snapshot-revert', 'vm', 'e1', '--running');
  assert.deepEqual((await run('ls', [env.imageDir])).stdout.trim().split('\n').sort(), ['base.e1', 'base.qcow2']);
  assert.match((await cli('domstate', 'vm')).out, /running/);
  assert.match((await cli('domblklist', 'vm')).out, /vda +\S+\/base\.e1/);
});
