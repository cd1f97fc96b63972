/**
 * The differential suite: every scenario runs through real virsh (`virsh -c test:///default`)
 * and through snapvirt, and stdout, stderr and exit status must be equal after masking
 * timestamps. Deliberate deviations compare snapvirt with its own written-down expectation.
 * Scenarios run four (or one per core) at a time so the suite takes about a minute.
 */
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, defaultJobs } from './harness.js';
import { allScenarios } from './scenarios/index.js';

function virshAvailable(): boolean {
  try {
    execFileSync('virsh', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const haveVirsh = virshAvailable();
/** Under CI (CI=true, as GitHub Actions and .ci/run's callers set it) a missing oracle is a failure, not a skip. */
const virshRequired = (process.env['CI'] ?? '') !== '' && process.env['CI'] !== 'false' && process.env['CI'] !== '0';
const skipReason = !haveVirsh && !virshRequired ? 'virsh (libvirt-clients) is not installed' : false;

describe('differential: snapvirt vs virsh on test:///default', { concurrency: defaultJobs }, () => {
  it('has at least 170 scenarios with unique names', () => {
    assert.ok(allScenarios.length >= 170, `only ${allScenarios.length} scenarios`);
    const names = new Set(allScenarios.map((s) => s.name));
    assert.equal(names.size, allScenarios.length, 'duplicate scenario names');
    for (const s of allScenarios) {
      assert.ok((s.commands === undefined) !== (s.argv === undefined), `${s.name}: exactly one of commands/argv`);
      assert.equal(s.deviation !== undefined, s.expected !== undefined, `${s.name}: deviation and expected go together`);
    }
  });

  it('has the oracle (virsh) when it must (under CI)', { skip: skipReason }, () => {
    assert.ok(haveVirsh, 'virsh is not installed but CI is set: install libvirt-clients (see .ci/run)');
  });

  for (const scenario of allScenarios) {
    const needsVirsh = scenario.deviation === undefined;
    it(scenario.name, { skip: needsVirsh ? skipReason : false }, async () => {
      const result = await compare(scenario);
      assert.ok(result.matches, `${scenario.commands ?? (scenario.argv ?? []).join(' ')}\n${result.diff}`);
    });
  }
});
