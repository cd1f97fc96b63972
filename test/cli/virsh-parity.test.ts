/**
 * End-to-end parity with real virsh 9.0: each scenario runs in one `virsh -c test:///default`
 * process and one `bin/snapvirt` process, and stdout, stderr and the exit status must be
 * the same after normalising times, generated names and random UUIDs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SNAPVIRT = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));
const URI = 'test:///default';

interface Run { stdout: string; stderr: string; status: number }

function run(program: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(program, args, { env: { ...process.env, LC_ALL: 'C', ...env }, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      const status = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ stdout, stderr, status });
    });
    // A program that exits without reading its input makes this write fail with EPIPE
    // (seen under load); the exit status and output are what the test compares.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

function normalise(text: string): string {
  return text
    .replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}/g, 'TIME')
    .replace(/<creationTime>\d+<\/creationTime>/g, '<creationTime>T</creationTime>')
    .replace(/CPU time: +\d+\.\ds\n/g, 'CPU time: CPU\n')
    .replace(/\b1[0-9]{9}\b/g, 'EPOCH')
    .replace(/with uuid [0-9a-f-]{36}/g, 'with uuid UUID')
    .replace(/\/(virsh|snapvirt)[A-Za-z0-9]{6}\.xml/g, '/TMPFILE.xml')
    .replace(/virsh/g, 'snapvirt');
}

/** The oracle must be there: the project's CI installs libvirt-clients 9.0. */
const virshVersion = await run('virsh', ['-v']);
const hasVirsh = virshVersion.status === 0 && virshVersion.stdout.startsWith('9.0.');


const dir = mkdtempSync(join(tmpdir(), 'snapvirt-cli-parity-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const snapXml = file('snap.xml', '<domainsnapshot>\n  <name>fromfile</name>\n  <description>d</description>\n</domainsnapshot>\n');
const badXml = file('bad.xml', '<domainsnapshot><name>x</name>\n');
const invalidXml = file('invalid.xml', '<domainsnapshot><foo/></domainsnapshot>\n');
const domainXml = file('dom.xml', `<domain type='test'>
  <name>t2</name>
  <uuid>5e3c1c9e-7d2a-4b7e-9f0a-0123456789ab</uuid>
  <memory unit='KiB'>8192</memory>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/guest/t2.img'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
  </devices>
</domain>
`);

const nodeFile = file('node.xml', `<node>
<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <name>pre</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory>8192</memory>
  <os><type>hvm</type></os>
  <test:domainsnapshot>
    <domainsnapshot>
      <name>old</name>
      <state>running</state>
      <creationTime>1000000000</creationTime>
      <domain><uuid>11111111-2222-3333-4444-555555555555</uuid></domain>
      <active>1</active>
    </domainsnapshot>
  </test:domainsnapshot>
</domain>
</node>
`);

/** A full snapshot XML for redefinition, as virsh itself dumps it. */
const redefineXml = file('r1.xml', hasVirsh
  ? (await run('virsh', ['-q', '-c', URI, 'snapshot-create-as test r1; snapshot-dumpxml test r1'])).stdout
  : '<domainsnapshot/>\n');

/** The tree of upstream tests/virsh-snapshot: s1 → s3 → (s2, s6 → (s4, s5)), s1 → s7 → s8. */
const TREE = 'snapshot-create-as test s1; snapshot-create-as test s3; snapshot-create-as test s2; '
  + 'snapshot-revert test s3; snapshot-create-as test s6; snapshot-create-as test s5; snapshot-revert test s6; '
  + 'snapshot-create-as test s4; snapshot-revert test s1; snapshot-create-as test s7; snapshot-create-as test s8';

interface Scenario { name: string; args: string[]; input?: string; env?: NodeJS.ProcessEnv }
const batch = (name: string, commands: string, ...global: string[]): Scenario => ({ name, args: [...global, '-c', URI, commands] });

const SCENARIOS: Scenario[] = [
  batch('tree listings', `${TREE}; snapshot-list test; snapshot-list test --tree; snapshot-list test --parent; snapshot-list test --name; snapshot-list test --topological --name`),
  batch('children listings', `${TREE}; snapshot-list test --from s3 --tree; snapshot-list test --current --tree; snapshot-list test --from s3 --descendants; snapshot-list test --from s3 --descendants --tree; snapshot-list test --roots; snapshot-list test --leaves; snapshot-list test --no-leaves`),
  batch('list option conflicts', 'snapshot-list test --parent --roots; snapshot-list test --from a --current; snapshot-list test --descendants; snapshot-list test --leaves --tree; snapshot-list test --tree --name; snapshot-list test --roots --from x; snapshot-list test --name --parent'),
  batch('info, parent, current', `${TREE}; snapshot-info test s3; snapshot-info test --current; snapshot-parent test s1; snapshot-parent test --current; snapshot-current test --name; snapshot-current test; snapshot-current test --name s1; snapshot-current test s2; snapshot-info test --current`),
  batch('delete variants', `${TREE}; snapshot-delete test s3; snapshot-list test --tree; snapshot-delete test --children s7; snapshot-delete test s1 --children-only; snapshot-list test --parent; snapshot-delete test --current; snapshot-current test`),
  batch('failure wrappers', `${TREE}; snapshot-revert test s3 --running --paused; snapshot-delete test s3 --children --children-only; snapshot-dumpxml test nope; snapshot-revert test; snapshot-delete test s1 --current; snapshot-info test nope`),
  batch('revert states', `${TREE}; snapshot-revert test s3 --paused; domstate test --reason; snapshot-revert test s1 --force; domstate test --reason`),
  batch('create-as XML', `snapshot-create-as test --print-xml --name 'a<b' --description 'x&y' --memspec /m,,f,snapshot=external vda,snapshot=external,driver=qcow2,file=/x<y,,z vdb,stype=block,file=/dev/sdx vdc,snapshot=no "vdd,driver=q'q"; snapshot-create-as test --print-xml; snapshot-create-as test --print-xml --memspec file=/m --diskspec '' --diskspec ',file=/x'`),
  batch('create-as errors', "snapshot-create-as test --print-xml --diskspec vda,stype=nfs; snapshot-create-as test --print-xml --diskspec vda,bogus=1; snapshot-create-as test --print-xml --memspec ''; snapshot-create-as test --print-xml --memspec /a,/b; snapshot-create-as nope --print-xml; snapshot-create-as test ''"),
  batch('create-as flags', 'snapshot-create-as test s1 --halt; domstate test --reason; snapshot-create-as test s2 --redefine; snapshot-create-as test --disk-only; snapshot-create-as test s1; snapshot-create-as test s5 desc vda; snapshot-create-as test s6 --memspec /tmp/mem1; snapshot-info test s6'),
  batch('snapshot-create from files', `snapshot-create test ${snapXml}; snapshot-create test --xmlfile ${join(dir, 'nope.xml')}; snapshot-create test ${badXml}; snapshot-create test ${invalidXml} --validate; snapshot-create test ${dir}; snapshot-create test --redefine --halt; snapshot-create test --current`),
  batch('xpath', "snapshot-create-as test s1; snapshot-dumpxml test s1 --xpath //domain/@type; snapshot-dumpxml test s1 --xpath '//['; snapshot-dumpxml test s1 --xpath //memory --wrap; snapshot-dumpxml test s1 --xpath //os; snapshot-dumpxml test s1 --xpath 'count(//a)'; dumpxml test --xpath //os/type/@arch --wrap; snapshot-dumpxml test s1 --xpath //name --wrap; snapshot-dumpxml test s1 --xpath //nothing --wrap; snapshot-dumpxml test s1 --xpath //state/text(); dumpxml test --xpath //devices --wrap; snapshot-dumpxml test s1 --xpath ''"),
  batch('quiet mode', 'snapshot-create-as test s1; snapshot-create-as test s2; snapshot-list test; snapshot-list test --parent; snapshot-delete test s1; snapshot-revert test s2; list --all; domblklist test; snapshot-current test s2; echo hi; uri', '-q'),
  batch('domain information', 'dominfo test; domstate test --reason; list --all; domblklist test --details; dumpxml test; dumpxml test --inactive; version; hostname; uri'),
  batch('lifecycle', 'suspend test; suspend test; resume test; resume test; destroy test; destroy test; start test; start test; shutdown test; list --all; undefine test; list --all --name'),
  batch('define and lookups', `define ${domainXml}; define ${join(dir, 'nope.xml')}; define ${domainXml}; domblklist t2; domblklist t2 --details --inactive; snapshot-create-as t2 a; undefine t2; undefine t2 --snapshots-metadata; list --all --uuid; list --all --id; list --name --uuid; list --table --name; dominfo 1; dominfo 6695eb01-f6a4-8304-79aa-97f2502e193f; dominfo ''; domstate nope`),
  batch('undefine option checks', 'undefine test --nvram --keep-nvram; undefine test --tpm --keep-tpm; undefine test --wipe-storage; undefine test --delete-snapshots; undefine test --storage vda --remove-all-storage'),
  batch('undefine storage', 'destroy test; undefine test --storage /guest/diskimage1,vda --wipe-storage; undefine test --storage vdz; undefine test --remove-all-storage; list --all'),
  batch('lifecycle flags', 'destroy test --graceful; start test --force-boot; destroy test --remove-logs; shutdown test --mode bogus; shutdown test --mode acpi,agent; start test --bypass-cache; start test --paused; domstate test --reason'),
  batch('console requests', `create ${domainXml} --console; destroy test; start test --console`),
  { name: 'non-ASCII names in a UTF-8 locale', args: ['-c', URI, "snapshot-create-as test 'ä'; snapshot-create-as test '日本'; snapshot-create-as test 'x\\y'; snapshot-list test; snapshot-list test --tree"], env: { LC_ALL: 'C.UTF-8' } },
  batch('non-ASCII names in the C locale', "snapshot-create-as test 'ä'; snapshot-create-as test '日本'; snapshot-list test --parent"),
  batch('redefine with --halt (virsh retries without HALT, then destroys)', `snapshot-create test ${redefineXml} --redefine --halt; domstate test --reason; snapshot-list test --name; snapshot-create test ${redefineXml} --redefine --current; snapshot-current test --name; snapshot-create test ${redefineXml} --redefine --halt; domstate test --reason`),
  batch('read-only connection', 'destroy test; snapshot-create-as test s1; snapshot-list test; suspend test; snapshot-revert test --current; undefine test; dominfo test; dumpxml test --security-info; dumpxml test --inactive --xpath //name; list --all', '-r'),
  batch('connect --readonly', `connect ${URI} --readonly; snapshot-create-as test s1; define ${domainXml}; create ${domainXml}; start test; shutdown test --mode acpi; resume test; qemu-monitor-command test x; destroy test --graceful; connect ${URI}; snapshot-create-as test s1; snapshot-current test s1; snapshot-dumpxml test s1 --security-info --xpath //name`),
  batch('list filters', 'snapshot-create-as test s1; list --with-snapshot; list --without-snapshot; list --state-running --name; list --state-paused; list --persistent --transient --all; list --inactive'),
  { name: 'risky revert and --force', args: ['-c', `test://${nodeFile}`, 'list --all; snapshot-list pre; snapshot-revert pre old; snapshot-revert pre old --force; snapshot-info pre old; snapshot-dumpxml pre old'] },
  batch('no current snapshot', 'snapshot-list test --current; snapshot-list test --current --tree; snapshot-list test --from nope; snapshot-info test --current; snapshot-revert test --current; snapshot-edit test --current; snapshot-delete test --current; snapshot-current test; snapshot-parent test --current'),
  batch('transient domain', `create ${domainXml}; snapshot-create-as t2 s1 --halt; snapshot-create-as t2 s1; snapshot-create-as t2 s1; snapshot-revert t2 s1; undefine t2`),
  batch('list output combinations', `define ${domainXml}; list --all --name --id; list --all --uuid --name --id; list --all --id; list --all --title`),
  batch('monitor passthrough', 'qemu-monitor-command test info; qemu-monitor-command test query-status; qemu-monitor-command test --hmp --pretty info; qemu-monitor-command test; dumpxml test //os'),
  batch('grammar errors', 'uri; list --bogus'),
  batch('unknown command', 'uri; bogus'),
  batch('missing options', 'snapshot-dumpxml'),
  batch('expected syntax', 'snapshot-list test --from'),
  batch('repeated option', 'snapshot-create-as test --memspec a --memspec b'),
  batch('unexpected data', 'dominfo test extra'),
  batch('bool with value', 'snapshot-list test --tree=1'),
  batch('quoting and comments', `echo 'a b' "c\\"d" e\\ f; echo a#b c #d; uri`),
  batch('dangling backslash', 'echo abc\\'),
  batch('missing quote', 'echo "abc'),
  batch('echo modes', `echo --shell "a b" c "d'e" ""; echo --xml "<&>'\\""; echo --split a,b,,c ""; echo --err oops; echo; echo --hi; echo --str a -- --xml; echo --shell --xml a`),
  // snapshot-delete's help lists snapvirt's own --force (the differential suite's deviations check it).
  batch('help texts', ['snapshot-create', 'snapshot-create-as', 'snapshot-current', 'snapshot-dumpxml',
    'snapshot-edit', 'snapshot-info', 'snapshot-list', 'snapshot-parent', 'snapshot-revert', 'define', 'create', 'undefine',
    'list', 'dominfo', 'domstate', 'dumpxml', 'start', 'destroy', 'shutdown', 'suspend', 'resume', 'domblklist',
    'qemu-monitor-command', 'help', 'echo', 'version', 'uri', 'hostname', 'quit', 'exit', 'connect', 'cd', 'pwd']
    .map((c) => `help ${c}`).join('; ') + '; help snapshot; help virsh; snapshot-list --help; help nope'),
  batch('help of console and display commands', 'help console; help vncdisplay; help domdisplay'),
  batch('help of the lifecycle and interface commands',
    'help reboot; help reset; help autostart; help domrename; help edit; help domiflist; help domif-getlink'),
  batch('interfaces', 'domiflist test; domiflist test --inactive; domif-getlink test testnet0; domif-getlink test aa:bb:cc:dd:ee:ff --config; '
    + 'domif-getlink test AA:BB:CC:DD:EE:FF; domif-getlink test vnet0; domif-getlink test 52:54:00:00:00:01; domif-getlink test 52:54:00:xx'),
  batch('reboot modes refused before the call', 'reboot test --mode foo; reboot test --mode acpi,bogus'),
  batch('console without a terminal, or shut off', 'console test; console test --devname x; destroy test; console test'),
  ...[
    "<graphics type='vnc' port='5901' listen='0.0.0.0'/>", "<graphics type='vnc' port='5902' listen='127.0.0.1' passwd='pw'/>",
    "<graphics type='vnc' port='5903'><listen type='address' address='::1'/></graphics>", "<graphics type='vnc' port='5901' listen='::'/>",
    "<graphics type='spice' port='5905' tlsPort='5906' listen='0.0.0.0' passwd='x'/>", "<graphics type='rdp' port='3389'/>",
    "<graphics type='vnc' port='5901'/><graphics type='spice' port='5905'/>", '',
  ].map((graphics, i) => batch(`vncdisplay and domdisplay ${i}: ${graphics || 'no graphics'}`,
    `define ${file(`display${i}.xml`, `<domain type='test'><name>g</name><memory>1024</memory><os><type>hvm</type></os><devices>${graphics}</devices></domain>`)}; ` +
    'vncdisplay g; domdisplay g; start g; vncdisplay g; domdisplay g; domdisplay g --include-password; domdisplay g --type vnc; domdisplay g --all; domdisplay g --type spice')),
  batch('cd outside the shell', 'cd /tmp; pwd'),
  batch('quit stops the batch', 'uri; quit; uri'),
  { name: 'block commands on the test driver', args: ['-c', URI, 'domblkinfo test vda; domblkinfo test /guest/diskimage1 --human; domblkinfo test --all; domblkinfo test vdz; domblkinfo test; blockcommit test vda --wait; blockcommit test vda --verbose; blockcommit test vda --pivot --keep-overlay; blockpull test vda; blockpull test vda --verbose; blockjob test vda --info --abort; blockjob test vda'] },
  { name: 'argv form', args: ['-c', URI, 'snapshot-create-as', 'test', 'a b', '--description', 'x;y'] },
  { name: 'empty command string', args: ['-c', URI, ''] },
  { name: 'unknown short option', args: ['-x'] },
  { name: 'missing -c argument', args: ['-c'] },
  { name: 'unknown long option', args: ['--bogus'] },
  { name: 'long option with a value it does not take', args: ['--quiet=1', 'uri'] },
  { name: 'short version', args: ['-v'] },
  { name: 'version option', args: ['--version'] },
  { name: 'debug level out of range', args: ['-d', '9', '-c', URI, 'uri'] },
  { name: 'interactive session', args: ['-c', URI], input: 'uri\nbogus\necho a; echo b\n\ndominfo nope\nquit\nuri\n' },
  { name: 'cd and pwd in the shell', args: ['-q', '-c', URI], input: 'cd /tmp\npwd\ncd /nonexistent\ncd\npwd\n', env: { HOME: tmpdir() } },
  batch('connect', 'snapshot-create-as test s1; connect test:///default; snapshot-list test --name; connect test:///default --readonly; uri'),
  { name: 'quiet interactive session at end of input', args: ['-q', '-c', URI], input: 'echo a; uri' },
  { name: 'edit without change', args: ['-c', URI, 'snapshot-create-as test s1; snapshot-edit test s1; snapshot-edit test --current; snapshot-edit test s1 --current; snapshot-edit test --rename --clone'], env: { EDITOR: 'true', VISUAL: 'true' } },
  { name: 'edit clone and rename', args: ['-c', URI, 'snapshot-create-as test s1; snapshot-edit test s1 --clone; snapshot-list test --name; snapshot-edit test s9 --rename'], env: { EDITOR: 'sed -i s/s1/s9/', VISUAL: 'sed -i s/s1/s9/' } },
  { name: 'editor not found by name', args: ['-c', URI, 'snapshot-create-as test s1; snapshot-edit test s1'], env: { EDITOR: 'no-such-editor', VISUAL: 'no-such-editor' } },
  { name: 'editor path that cannot run', args: ['-c', URI, 'snapshot-create-as test s1; snapshot-edit test s1'], env: { EDITOR: '/no/such/editor', VISUAL: '/no/such/editor' } },
  { name: 'domain edit without change', args: ['-c', URI, 'edit test; edit test --skip-validate'], env: { EDITOR: 'true', VISUAL: 'true' } },
  { name: 'domain edit of the memory', args: ['-c', URI, 'edit test; dumpxml test --inactive'], env: { EDITOR: 'sed -i s/8388608/4194304/', VISUAL: 'sed -i s/8388608/4194304/' } },
  { name: 'domain edit, editor failure', args: ['-c', URI, 'edit test; dominfo test'], env: { EDITOR: 'false', VISUAL: 'false' } },
  { name: 'editor failure', args: ['-c', URI, 'snapshot-create-as test s1; snapshot-edit test s1'], env: { EDITOR: 'false', VISUAL: 'false' } },
];

/** Runs `task`s at most `limit` at a time, so the whole file takes seconds, not half a minute. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
const limit = limiter(4);
const results = new Map(SCENARIOS.map((scenario) => [scenario, hasVirsh ? limit(() => Promise.all([
  run('virsh', scenario.args, scenario.input, scenario.env),
  run(process.execPath, [SNAPVIRT, ...scenario.args], scenario.input, scenario.env),
])) : null]));

for (const scenario of SCENARIOS) {
  test(`same as virsh: ${scenario.name}`, async () => {
    const pending = results.get(scenario);
    assert.ok(pending, 'virsh 9.0 is needed to compare with');
    const [virsh, snapvirt] = await pending;
    assert.equal(normalise(snapvirt.stdout), normalise(virsh.stdout), 'stdout');
    assert.equal(normalise(snapvirt.stderr), normalise(virsh.stderr), 'stderr');
    assert.equal(snapvirt.status, virsh.status, 'exit status');
  });
}

test('the oracle, virsh 9.0, is installed', () => {
  assert.ok(hasVirsh, `virsh -v said ${JSON.stringify(virshVersion.stdout || virshVersion.stderr)}`);
});
