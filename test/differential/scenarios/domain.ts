/** Domain commands around snapshots: define, create, undefine, list, dominfo, domstate, dumpxml, lifecycle, domblklist. */
import type { Scenario } from '../scenario.js';
import { fixture } from './common.js';

const d = 'domain';

const dom2 = { 'dom2.xml': fixture('dom2.xml'), 'dom2.img': '' };
const dom3 = { 'dom3.xml': fixture('dom2.xml').split('dom2').join('dom3').replace('11111111-2222-3333-4444-555555555555', '11111111-2222-3333-4444-666666666666') };

/** Scenarios for domain commands. */
export const domainScenarios: Scenario[] = [
  { name: `${d}: list`, commands: 'list' },
  { name: `${d}: list --all with a defined domain`, commands: 'define dom2.xml; list --all', files: dom2 },
  { name: `${d}: list --inactive, --name, --uuid`, commands: 'define dom2.xml; list --inactive; list --name --all; list --uuid --all', files: dom2 },
  { name: `${d}: list --with-snapshot/--without-snapshot`, commands: 'define dom2.xml; list --all --with-snapshot; list --all --without-snapshot; snapshot-create-as test s1; list --all --with-snapshot; list --all --without-snapshot --name', files: dom2 },
  { name: `${d}: list --persistent/--transient/--state-*`, commands: 'define dom2.xml; create dom3.xml; list --all --persistent; list --transient; list --state-running; list --all --state-shutoff', files: { ...dom2, ...dom3 } },
  { name: `${d}: define prints the file name`, commands: 'define --file dom2.xml', files: dom2 },
  { name: `${d}: define missing file`, commands: 'define nope.xml' },
  { name: `${d}: define malformed XML`, commands: 'define bad.xml', files: { 'bad.xml': '<domain type="test"><name>x</name>' } },
  { name: `${d}: dumpxml of defined domain`, commands: 'define dom2.xml; dumpxml dom2', files: dom2 },
  { name: `${d}: dumpxml --inactive`, commands: 'dumpxml test --inactive' },
  { name: `${d}: dumpxml running test`, commands: 'dumpxml test' },
  { name: `${d}: dumpxml unknown domain`, commands: 'dumpxml nope' },
  { name: `${d}: dominfo running`, commands: 'dominfo test' },
  { name: `${d}: dominfo shut off`, commands: 'define dom2.xml; dominfo dom2', files: dom2 },
  { name: `${d}: dominfo unknown`, commands: 'dominfo nope' },
  { name: `${d}: domstate and --reason`, commands: 'domstate test; domstate test --reason; define dom2.xml; domstate dom2 --reason', files: dom2 },
  { name: `${d}: domstate unknown`, commands: 'domstate nope' },
  { name: `${d}: start and states`, commands: 'define dom2.xml; start dom2; domstate dom2 --reason; list', files: dom2 },
  { name: `${d}: start an active domain`, commands: 'start test' },
  { name: `${d}: start unknown`, commands: 'start nope' },
  { name: `${d}: suspend and resume`, commands: 'suspend test; domstate test --reason; resume test; domstate test --reason' },
  { name: `${d}: suspend twice`, commands: 'suspend test; suspend test' },
  { name: `${d}: resume a running domain`, commands: 'resume test' },
  { name: `${d}: suspend a shut-off domain`, commands: 'destroy test; suspend test' },
  { name: `${d}: shutdown`, commands: 'shutdown test; domstate test --reason; list --all' },
  { name: `${d}: shutdown a shut-off domain`, commands: 'destroy test; shutdown test' },
  { name: `${d}: destroy`, commands: 'destroy test; domstate test --reason; dominfo test' },
  { name: `${d}: destroy a shut-off domain`, commands: 'destroy test; destroy test' },
  { name: `${d}: destroy unknown`, commands: 'destroy nope' },
  { name: `${d}: create transient domain`, commands: 'create dom3.xml; list; dominfo dom3; destroy dom3; list --all', files: dom3 },
  { name: `${d}: --halt on a transient domain refused`, commands: 'create dom3.xml; snapshot-create-as dom3 s1 --halt; snapshot-list dom3 --name; domstate dom3', files: dom3 },
  { name: `${d}: undefine with snapshots refused`, commands: 'define dom2.xml; snapshot-create-as dom2 s1; undefine dom2', files: dom2 },
  { name: `${d}: undefine --snapshots-metadata`, commands: 'define dom2.xml; snapshot-create-as dom2 s1; undefine dom2 --snapshots-metadata; list --all', files: dom2 },
  { name: `${d}: undefine without snapshots`, commands: 'define dom2.xml; undefine dom2; list --all --name', files: dom2 },
  { name: `${d}: undefine running domain keeps it transient`, commands: 'undefine test --snapshots-metadata; list --all; dominfo test' },
  { name: `${d}: undefine unknown`, commands: 'undefine nope' },
  { name: `${d}: snapshot of a defined shut-off domain`, commands: 'define dom2.xml; snapshot-create-as dom2 s1 "offline"; snapshot-info dom2 s1; snapshot-dumpxml dom2 s1 --xpath //disks', files: dom2 },
  { name: `${d}: external memory snapshot of a domain with real files`, commands: 'define dom2.xml; start dom2; snapshot-create-as dom2 e1 --memspec {dir}/mem.save; snapshot-info dom2 e1; snapshot-dumpxml dom2 e1 --xpath //disks; snapshot-list dom2 --external', files: dom2 },
  { name: `${d}: domblklist`, commands: 'domblklist test' },
  { name: `${d}: domblklist --details`, commands: 'domblklist test --details; define dom2.xml; domblklist dom2 --details; domblklist dom2', files: dom2 },
  { name: `${d}: domblklist --inactive`, commands: 'domblklist test --inactive' },
  { name: `${d}: domblklist unknown`, commands: 'domblklist nope' },
  { name: `${d}: domain by id and uuid`, commands: 'snapshot-create-as 1 s1; snapshot-list 6695eb01-f6a4-8304-79aa-97f2502e193f --name; dominfo 1' },
];
