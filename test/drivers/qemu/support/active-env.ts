/**
 * Fixtures for tests of running domains through the public API: a qemu:///session state
 * dir, a defined domain with N qcow2 virtio disks, guest-like writes through HMP qemu-io,
 * and a teardown that kills every QEMU started under the state dir (TCG is forced).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Domain } from '../../../../src/api/domain.js';
import { terminateQemuIn } from '../../../../src/drivers/qemu/domain/qemu-process.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { domainXml, makeImages, type FixtureDisk } from '../../../helpers/domain-fixture.js';

// Tests never depend on KVM; children (CLI, crash helpers) inherit this.
process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';

/** A test environment with one defined domain. */
export interface RunningEnv {
  env: QemuTestEnv;
  dom: Domain;
  disks: FixtureDisk[];
  /** Kills every QEMU of the state dir, closes the connection and removes the temp dirs. */
  cleanup(): Promise<void>;
}

/**
 * Kills every QEMU whose runtime dir is under `stateDir` (teardown; never leaves one
 * behind). Only directories are runtime dirs: a live revert's switch marker is a file there.
 */
export async function killAllQemu(stateDir: string): Promise<void> {
  const run = join(stateDir, 'run');
  const entries = await readdir(run, { withFileTypes: true }).catch(() => []);
  await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => terminateQemuIn(join(run, e.name), 0)));
}

/** Defines domain `name` with `count` disks of 16 MiB (vda, vdb, …), qcow2 unless told. */
export async function makeRunningEnv(count: number, name = 'vm', format: 'qcow2' | 'raw' = 'qcow2'): Promise<RunningEnv> {
  const env = await openQemuTestEnv();
  try {
    const disks = await makeImages(env.imageDir, name, Array.from({ length: count }, () => format), 16 << 20);
    const dom = await env.conn.domainDefineXML(domainXml(name, disks));
    return {
      env, dom, disks,
      async cleanup() {
        await killAllQemu(env.stateDir);
        await env.cleanup();
      },
    };
  } catch (err) {
    await killAllQemu(env.stateDir);
    await env.cleanup();
    throw err;
  }
}

/** Writes `pattern` over [offset, offset+length) of disk `target` as the guest would (HMP qemu-io on the device). */
export async function guestWriteVia(dom: Domain, target: string, pattern: number, offset = 0, length = '1M'): Promise<void> {
  const reply = await dom.qemuMonitorCommand(
    `qemu-io -d /machine/peripheral/disk-${target}/virtio-backend "write -P ${pattern} ${offset} ${length}"`, 1);
  if (reply !== '') throw new Error(`HMP qemu-io failed: ${reply}`);
}

/** query-block through the public monitor passthrough: per disk target, the top node and file. */
export async function queryBlock(dom: Domain): Promise<{ target: string; node: string; file: string; depth: number }[]> {
  const reply = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-block"}')) as {
    return: { qdev: string; inserted?: { 'node-name': string; file: string; backing_file_depth: number } }[];
  };
  return reply.return.filter((b) => b.inserted).map((b) => ({
    target: /disk-([a-z0-9]+)/.exec(b.qdev)?.[1] ?? b.qdev,
    node: b.inserted!['node-name'],
    file: b.inserted!.file,
    depth: b.inserted!.backing_file_depth,
  }));
}

/** Every block node name QEMU has (to prove nothing was left attached). */
export async function nodeNames(dom: Domain): Promise<string[]> {
  const reply = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-named-block-nodes","arguments":{"flat":true}}')) as {
    return: { 'node-name': string }[];
  };
  return reply.return.map((n) => n['node-name']).sort();
}
