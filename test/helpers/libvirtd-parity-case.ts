/**
 * One command line run through virsh against the private libvirtd and through snapvirt,
 * and the comparison of the two outcomes once each side's directory is masked
 * (test/helpers/private-libvirtd.ts starts the daemon).
 */
import assert from 'node:assert/strict';
import type { CommandOutcome, QemuOracle } from './private-libvirtd.js';

/** One comparison; `commands` may use `{dir}` (each side's image directory) and `D` (the domain). */
export interface ParityCase {
  name: string;
  commands: string;
  /** Set when snapvirt deliberately differs (listed in docs/COMPATIBILITY.md); `expected` is then snapvirt's own outcome. */
  difference?: string;
  expected?: CommandOutcome;
}

/** The image directory of each side. */
export interface ParitySides { virsh: string; snapvirt: string }

/** The outcome with the side's directory, creation times and QMP command ids masked. */
export function maskOutcome(outcome: CommandOutcome, dir: string): CommandOutcome {
  const mask = (text: string): string => text.split(dir).join('{dir}').replace(/\b1[0-9]{9}\b/g, 'EPOCH')
    .replace(/"id":\s*"[^"]*"/g, '"id":"ID"');
  return { stdout: mask(outcome.stdout), stderr: mask(outcome.stderr), code: outcome.code };
}

/** Runs `commands` on both sides at once, `D` replaced by `domain` and `{dir}` by each side's directory. */
export async function runBothSides(oracle: QemuOracle, sides: ParitySides, domain: string, commands: string): Promise<{ virsh: CommandOutcome; snapvirt: CommandOutcome }> {
  const line = (dir: string): string => commands.split('{dir}').join(dir).replace(/\bD\b/g, domain);
  const [v, s] = await Promise.all([oracle.virsh(line(sides.virsh)), oracle.snapvirt(line(sides.snapvirt))]);
  return { virsh: maskOutcome(v, sides.virsh), snapvirt: maskOutcome(s, sides.snapvirt) };
}

/** Equal outcomes, or for a listed difference snapvirt's pinned outcome and a libvirtd that still differs. */
export function assertParity(c: ParityCase, out: { virsh: CommandOutcome; snapvirt: CommandOutcome }): void {
  if (process.env.SNAPVIRT_PARITY_DUMP) console.log(JSON.stringify({ case: c.name, ...out }, null, 1));
  if (c.difference !== undefined) {
    assert.deepEqual(out.snapvirt, c.expected, `${c.name}: snapvirt's own outcome (${c.difference})`);
    assert.notDeepEqual(out.virsh, out.snapvirt, `${c.name}: libvirtd now agrees; drop the listed difference`);
  } else {
    assert.deepEqual(out.snapvirt, out.virsh);
  }
}
