/**
 * The host side of tap interfaces (bridge and managed ethernet): before the spawn, a
 * bridge that does not exist is refused with libvirt's message; once QEMU runs, each tap
 * it created (the kernel named it from `vnet%d` or the `<target dev>`, and QEMU's `info
 * network` says which) is enslaved to its bridge and brought up with `ip`, as libvirt
 * does. The taps are QEMU's (not persistent): they vanish with it, so nothing is left to
 * tear down, even after a crash.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import type { TapPlan } from './devices/device-context.js';

const run = promisify(execFile);

/** Refuses a tap whose bridge does not exist (libvirt: "Cannot get interface MTU on 'br0': No such device"). */
export async function refuseMissingBridges(taps: readonly TapPlan[]): Promise<void> {
  for (const tap of taps) {
    if (tap.bridge === undefined) continue;
    const isBridge = await stat(`/sys/class/net/${tap.bridge}/bridge`).then(() => true, () => false);
    if (!isBridge) {
      throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, `Cannot get interface MTU on '${tap.bridge}': No such device`);
    }
  }
}

/** Puts every tap on its bridge and brings it up; returns the tap names by netdev id. */
export async function setUpTaps(qmp: QmpClient, taps: readonly TapPlan[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  if (taps.length === 0) return names;
  const info = String(await qmp.execute('human-monitor-command', { 'command-line': 'info network' }));
  for (const tap of taps) {
    const ifname = new RegExp(`\\b${tap.netdev}: [^\\n]*?ifname=([^,\\s]+)`).exec(info)?.[1];
    if (ifname === undefined) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `QEMU did not report the tap device of ${tap.netdev}`);
    }
    names.set(tap.netdev, ifname);
    if (tap.bridge !== undefined) await ip(['link', 'set', 'dev', ifname, 'master', tap.bridge]);
    await ip(['link', 'set', 'dev', ifname, 'up']);
  }
  return names;
}

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: 30_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, `Unable to set up tap device (ip ${args.join(' ')}): ${stderr || String(err)}`);
  }
}
