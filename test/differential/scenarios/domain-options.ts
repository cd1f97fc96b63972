/** Domain commands: help pages, less common options and option-grammar errors. */
import type { Scenario } from '../scenario.js';
import { fixture } from './common.js';

const d = 'domain-opt';

const dom2 = { 'dom2.xml': fixture('dom2.xml'), 'dom2.img': '' };
const dom3 = { 'dom3.xml': fixture('dom2.xml').split('dom2').join('dom3').replace('11111111-2222-3333-4444-555555555555', '11111111-2222-3333-4444-666666666666') };

const domainCommands = [
  'define', 'create', 'undefine', 'list', 'dominfo', 'domstate', 'dumpxml', 'start', 'destroy',
  'shutdown', 'suspend', 'resume', 'domblklist', 'echo', 'version', 'uri', 'help',
  'reboot', 'reset', 'autostart', 'domrename',
];

/** A domain whose guest's reboot powers it off and whose power-off boots it again. */
const acts = {
  'acts.xml': `<domain type='test'>
  <name>acts</name>
  <uuid>6e3c1c9e-7d2a-4b7e-9f0a-0123456789ab</uuid>
  <memory unit='KiB'>8192</memory>
  <os><type>hvm</type></os>
  <on_poweroff>restart</on_poweroff>
  <on_reboot>destroy</on_reboot>
</domain>
`,
};

/** Scenarios for domain command options. */
export const domainOptionScenarios: Scenario[] = [
  ...domainCommands.map((c): Scenario => ({ name: `help: ${c}`, commands: `help ${c}` })),
  { name: `${d}: start --paused`, commands: 'define dom2.xml; start dom2 --paused; domstate dom2 --reason', files: dom2 },
  { name: `${d}: create --paused`, commands: 'create dom3.xml --paused; list --all', files: dom3 },
  { name: `${d}: destroy --graceful`, commands: 'destroy test --graceful; domstate test --reason' },
  { name: `${d}: shutdown --mode acpi`, commands: 'shutdown test --mode acpi; domstate test --reason' },
  { name: `${d}: list --autostart / --no-autostart`, commands: 'define dom2.xml; list --all --autostart; list --all --no-autostart --name', files: dom2 },
  { name: `${d}: list --title and --managed-save`, commands: 'list --all --title; list --all --managed-save' },
  { name: `${d}: list --table and --id`, commands: 'define dom2.xml; list --all --table; list --id', files: dom2 },
  { name: `${d}: list --name --uuid together`, commands: 'list --name --uuid' },
  { name: `${d}: dumpxml --xpath and --wrap`, commands: 'dumpxml test --xpath //disk/source; dumpxml test --xpath //name --wrap' },
  { name: `${d}: dumpxml --security-info and --inactive together`, commands: 'dumpxml test --security-info --inactive' },
  { name: `${d}: define --validate`, commands: 'define --validate dom2.xml', files: dom2 },
  { name: `${d}: define --validate failure`, commands: 'define --validate bad.xml', files: { 'bad.xml': '<domain type="test"><name>x</name><bogus/></domain>' } },
  { name: `${d}: define a domain without a name`, commands: 'define bad.xml', files: { 'bad.xml': '<domain type="test"><memory>1024</memory></domain>' } },
  { name: `${d}: define wrong root element`, commands: 'define bad.xml', files: { 'bad.xml': '<domainsnapshot/>' } },
  { name: `${d}: undefine --remove-all-storage`, commands: 'define dom2.xml; undefine dom2 --remove-all-storage; list --all --name', files: dom2 },
  { name: `${d}: domstate without domain`, commands: 'domstate' },
  { name: `${d}: dominfo unknown option`, commands: 'dominfo test --bogus' },
  { name: `${d}: list unknown option`, commands: 'list --bogus' },
  { name: `${d}: start missing domain`, commands: 'start' },
  { name: `${d}: domain commands with --domain=`, commands: 'dominfo --domain=test; domstate --domain test --reason' },
  { name: `${d}: list --state-paused`, commands: 'suspend test; list --state-paused; list --state-running; list --state-other' },
  { name: `${d}: domblklist --details --inactive`, commands: 'domblklist test --details --inactive' },
  { name: `${d}: reboot and reset keep a running domain running`, commands: 'reboot test; domstate test --reason; suspend test; reset test; domstate test --reason; reboot test; domstate test --reason; reboot --mode acpi test; reset nope' },
  { name: `${d}: reboot and reset a shut-off domain`, commands: 'destroy test; reboot test; reset test; domstate test --reason' },
  { name: `${d}: autostart on and off`, commands: 'autostart test; dominfo test; list --all --autostart; autostart --disable test; list --all --no-autostart; autostart nope' },
  { name: `${d}: domrename refusals`, commands: 'domrename test x; destroy test; domrename test test; domrename test a/b; define dom2.xml; domrename test dom2', files: dom2 },
  { name: `${d}: domrename keeps snapshots`, commands: 'snapshot-create-as test s1; destroy test; domrename test renamed; list --all; dominfo renamed; snapshot-list renamed --name; domstate test' },
  { name: `${d}: on_poweroff restart and on_reboot destroy`, commands: 'define acts.xml; start acts; shutdown acts; domstate acts --reason; reboot acts; domstate acts --reason', files: acts },
  { name: `${d}: a transient domain: autostart, no rename, gone at reboot`, commands: 'create acts.xml; autostart acts; dominfo acts; destroy acts; create acts.xml; domrename acts other; reboot acts; list --all', files: acts },
  { name: `${d}: suspend, destroy, start`, commands: 'suspend test; destroy test; domstate test --reason; start test; domstate test --reason' },
];
