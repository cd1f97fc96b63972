/**
 * libvirt's disk alignment as a matrix: the domain's declared mode for vda × how the
 * snapshot lists vda × the operation (shut-off or running create, external memory, and
 * redefinition as disk-snapshot or shut-off). Each scenario creates one snapshot per listing
 * and prints the aligned `<disks>` (or libvirt's refusal).
 */
import type { Scenario } from '../scenario.js';
import { fixture } from './common.js';
import { DECLARED_MODES, LISTED_MODES, matrixDomainXml, matrixSnapshotXml } from '../../helpers/disk-mode-matrix.js';

const UUID = '11111111-2222-3333-4444-0000000000d1';

interface Operation {
  readonly label: string;
  readonly start: boolean;
  readonly redefine: boolean;
  readonly extra: (domainXml: string, name: string) => string;
}

const indent = (text: string): string => text.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');

const OPERATIONS: readonly Operation[] = [
  { label: 'shut-off create', start: false, redefine: false, extra: () => '' },
  { label: 'running create', start: true, redefine: false, extra: () => '' },
  { label: 'running, external memory', start: true, redefine: false, extra: (_d, name) => `\n  <memory snapshot='external' file='{dir}/${name}.mem'/>` },
  {
    label: 'redefine disk-snapshot', start: false, redefine: true,
    extra: (domainXml) => `\n  <state>disk-snapshot</state>\n  <creationTime>1700000000</creationTime>\n  <memory snapshot='no'/>\n${indent(domainXml)}`,
  },
  {
    label: 'redefine shut-off', start: false, redefine: true,
    extra: (domainXml) => `\n  <state>shutoff</state>\n  <creationTime>1700000000</creationTime>\n  <memory snapshot='no'/>\n${indent(domainXml)}`,
  },
];

function scenario(declaredIndex: number, op: Operation): Scenario {
  const declared = DECLARED_MODES[declaredIndex]!;
  const domainXml = matrixDomainXml({ type: 'test', name: 'm', uuid: UUID, dir: '{dir}', declared });
  const files: Record<string, string> = { 'dom.xml': domainXml, 'a.img': '', 'b.img': '' };
  const commands = ['define dom.xml'];
  if (op.start) commands.push('start m');
  LISTED_MODES.forEach((listed, i) => {
    const name = `n${i}`;
    files[`${name}.xml`] = matrixSnapshotXml(name, listed, '{dir}', op.extra(domainXml, name));
    commands.push(`snapshot-create m ${name}.xml${op.redefine ? ' --redefine' : ''}`, `snapshot-dumpxml m ${name} --xpath //disks`);
  });
  return { name: `disk modes: vda ${declared.label}, ${op.label}`, commands: commands.join('; '), files };
}

/** Every (declared mode × operation) pair, each over every listing. */
export const diskModeScenarios: Scenario[] = DECLARED_MODES.flatMap((_d, i) => OPERATIONS.map((op) => scenario(i, op)));

const kinds = { 'kinds.xml': fixture('dom-disk-kinds.xml'), 'a.img': '', 'b.img': '', 'c.img': '' };

/** Disks of every kind: libvirt's disk order (bus, then target), read-only defaults, non-file sources. */
export const diskKindScenarios: Scenario[] = [
  { name: 'disk kinds: dumpxml orders disks by bus then target, cdrom read-only, no implied snapshot=no', commands: 'define kinds.xml; dumpxml e', files: kinds },
  { name: 'disk kinds: default snapshot aligns every kind', commands: 'define kinds.xml; snapshot-create-as e s1; snapshot-dumpxml e s1', files: kinds },
  { name: 'disk kinds: network disk listed external under an internal default', commands: 'define kinds.xml; snapshot-create-as e s2 --diskspec vda,snapshot=external', files: kinds },
  { name: 'disk kinds: external memory refuses a default name next to a network source', commands: 'define kinds.xml; start e; snapshot-create-as e s3 --memspec {dir}/mem; snapshot-list e --name', files: kinds },
  { name: 'disk kinds: external memory with the network disk excluded', commands: 'define kinds.xml; start e; snapshot-create-as e s4 --memspec {dir}/mem --diskspec vda,snapshot=no --diskspec hda,snapshot=no; snapshot-dumpxml e s4 --xpath //disks', files: kinds },
];
