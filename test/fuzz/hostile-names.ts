/**
 * Hostile snapshot and domain names for the QEMU driver, and the check
 * that a name is refused before anything is touched: a VirError, and the world's picture
 * (files, chains, data, store) exactly as before. Used by hostile-names.test.ts and by
 * test/crash/known-failures.ts for the names the driver still accepts.
 */
import assert from 'node:assert/strict';
import { VirError } from '../../src/api/errors.js';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import { buildWorld, DOMAIN, resetWorld, type BuiltWorld, type Scenario } from '../crash/crash-world.js';
import { describeDifference, openAt, pictureOf } from '../crash/world-state.js';

/** Names that must never reach a path or a tag, with a label for test names. */
export const HOSTILE_NAMES: Array<[string, string]> = [
  ['slash', 'a/b'],
  ['leading slash', '/etc'],
  ['dot dot', '..'],
  ['dot dot slash', '../../x'],
  ['single dot', '.'],
  ['NUL', 'a\u0000b'],
  ['control character', 'a\u0001b'],
  ['escape sequence', 'a\u001b[31mred'],
  ['newline', 'a\nb'],
  ['tab', 'a\tb'],
  ['DEL', 'a\u007fb'],
  ['10,000 characters', 'n'.repeat(10_000)],
];

/** Escapes text for XML character data (control characters stay raw: the parser must refuse them). */
export function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The ways a snapshot name reaches the driver: internal, external with default overlay names, and NO_METADATA. */
export const SNAPSHOT_WAYS: Array<[string, number]> = [
  ['internal', 0],
  ['external', C.DISK_ONLY],
  ['external, no metadata', C.DISK_ONLY | C.NO_METADATA],
];

const WORLD: Scenario = {
  name: 'two disks with one snapshot',
  disks: 2,
  async prepare(ctx) {
    await ctx.dom.snapshotCreateXML('<domainsnapshot><name>base</name></domainsnapshot>');
    await ctx.writeData();
    return { op: 'open' };
  },
};

/** Builds the world the hostile names are tried on. */
export function buildNameWorld(base: string): Promise<BuiltWorld> {
  return buildWorld(base, WORLD);
}

/** Tries `attempt` on a fresh copy of the world: it must throw a VirError and leave the world exactly as it was. */
export async function expectRefusedUntouched(
  w: BuiltWorld, label: string, attempt: (conn: Awaited<ReturnType<typeof openAt>>) => Promise<unknown>,
): Promise<void> {
  await resetWorld(w);
  const conn = await openAt(w.dirs.stateDir);
  let outcome: unknown = 'accepted';
  try {
    await attempt(conn);
  } catch (err) {
    outcome = err;
  } finally {
    await conn.close();
  }
  assert.ok(outcome instanceof VirError, `${label}: ${outcome === 'accepted' ? 'accepted' : `not a VirError: ${String(outcome)}`}`);
  const picture = await pictureOf(w.dirs, DOMAIN);
  assert.equal(JSON.stringify(picture), JSON.stringify(w.before), `${label}: refused (${outcome.message.slice(0, 120)}) but the world changed:\n${describeDifference(picture, w.before)}`);
}

/** A `<domain>` for a new domain named `name` on the world's existing images. */
export function domainXmlNamed(w: BuiltWorld, name: string): string {
  const disks = [0, 1].map((i) => `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>` +
    `<source file='${w.dirs.imageDirs[0]}/vm-${i}.qcow2'/><target dev='vd${String.fromCharCode(97 + i)}' bus='virtio'/></disk>`).join('');
  return `<domain type='qemu'><name>${xmlText(name)}</name><memory unit='KiB'>131072</memory>` +
    `<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>${disks}</devices></domain>`;
}
