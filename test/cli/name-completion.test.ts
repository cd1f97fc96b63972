/**
 * The shell completes domain names where a command takes its domain, and that domain's
 * snapshot names where it takes a snapshot, positionally or after the option; elsewhere it
 * completes commands and options as before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Control } from '../../src/cli/control.js';
import { loadAllCommands } from '../../src/cli/registry.js';
import { completeWithNames } from '../../src/cli/shell.js';

async function withShell(run: (complete: (line: string) => Promise<string[]>) => Promise<void>): Promise<void> {
  await loadAllCommands();
  const ctl = new Control({ out: () => undefined, err: () => undefined }, { uri: 'test:///default', quiet: true, readonly: false, interactive: true, timing: false });
  try {
    const dom = await (await ctl.connection()).domainLookupByName('test');
    for (const name of ['before-upgrade', 'before-reboot', 'after']) {
      await dom.snapshotCreateXML(`<domainsnapshot><name>${name}</name></domainsnapshot>`);
    }
    await run(async (line) => (await completeWithNames(ctl, line))[0]);
  } finally {
    await ctl.disconnect();
  }
}

test('domain names, then snapshot names of that domain', async () => {
  await withShell(async (complete) => {
    assert.deepEqual(await complete('snapshot-list t'), ['test']);
    assert.deepEqual(await complete('dominfo '), ['test']);
    assert.deepEqual(await complete('snapshot-revert test before-'), ['before-reboot', 'before-upgrade']);
    assert.deepEqual(await complete('snapshot-revert test '), ['after', 'before-reboot', 'before-upgrade']);
    assert.deepEqual(await complete('snapshot-info --domain test --snapshotname a'), ['after']);
    assert.deepEqual(await complete('snapshot-list test --tree --from b'), ['before-reboot', 'before-upgrade']);
    assert.deepEqual(await complete('uri; snapshot-delete test --children af'), ['after']);
  });
});

test('no names where none belong: options and commands complete as before', async () => {
  await withShell(async (complete) => {
    assert.deepEqual(await complete('snapshot-list test --tr'), ['--tree']);
    assert.deepEqual(await complete('snapshot-cu'), ['snapshot-current']);
    const unknownDomain = await complete('snapshot-revert nosuchdomain ');
    assert.ok(unknownDomain.includes('--running') && !unknownDomain.includes('after'), unknownDomain.join(' '));
    assert.deepEqual(await complete('snapshot-create-as test --name x'), []);
  });
});
