/**
 * One live scenario's world for a single test (not the matrix): built in a fresh temporary
 * directory that the test removes when it ends, its QEMUs killed first.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { killAllQemu } from '../drivers/qemu/support/active-env.js';
import { fastTempDir } from './fast-temp-dir.js';
import { buildLiveWorld, type LiveWorld } from './live-world.js';
import { LIVE_SCENARIOS } from './live-scenarios.js';

/** Builds the world of the live scenario named `name` for test `t`. */
export async function liveWorldForTest(t: { after(fn: () => Promise<void>): void }, prefix: string, name: string): Promise<LiveWorld> {
  const tmp = await fastTempDir(prefix);
  t.after(async () => {
    await killAllQemu(join(tmp.path, 'w', 'state'));
    await tmp.cleanup();
  });
  const scenario = LIVE_SCENARIOS.find((s) => s.name === name);
  assert.ok(scenario, `no live scenario '${name}'`);
  return buildLiveWorld(tmp.path, scenario);
}
