/**
 * Recovery itself killed at random moments: the kills of the random-kill tests (offline and
 * live) that check recovery is idempotent, resuming whatever the previous one left.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { killGroup, outcomeText, runChild, startChild } from './crash-world.js';

/**
 * Starts recovery three times, killing its process group after a seeded delay within
 * `recoveryMs` (how long one uninterrupted recovery took), then lets a fourth run to the
 * end, which must succeed. Returns the delays, for the failure messages that follow.
 */
export async function killRecoveryThenFinish(stateDir: string, rand: () => number, recoveryMs: number, label: string): Promise<number[]> {
  const delays: number[] = [];
  for (let k = 0; k < 3; k++) {
    const delay = Math.floor(rand() * recoveryMs);
    delays.push(delay);
    const running = startChild(stateDir, { op: 'open' }, '');
    await sleep(delay);
    killGroup(running);
    const end = await running.done;
    assert.ok(!end.hung && end.code !== 3, `${label}: ${outcomeText(end)}`);
  }
  const final = await runChild(stateDir, { op: 'open' }, '');
  assert.equal(final.code, 0, `${label} (kills at ${delays.join(', ')} ms of ${recoveryMs}): ${outcomeText(final)}`);
  return delays;
}
