/**
 * Scenarios where snapvirt deliberately differs from virsh on test:///default: libvirt's
 * test driver refuses DISK_ONLY, NO_METADATA, REUSE_EXT, DELETE_METADATA_ONLY and
 * REVERT_RESET_NVRAM (snapvirt supports them with the qemu driver's metadata semantics),
 * leaves the domain shut off when reverting an inactive snapshot with --running/--paused,
 * and virsh segfaults in snapshot-edit when the edited XML is rejected. Each scenario states
 * snapvirt's own expected output; each reason belongs in docs/COMPATIBILITY.md.
 */
import type { Scenario } from '../scenario.js';
import { fixture, sedEditor } from './common.js';

const info = (name: string, fields: { current: string; state: string; location: string; parent: string }): string =>
  `Name:           ${name}\nDomain:         test\nCurrent:        ${fields.current}\nState:          ${fields.state}\n` +
  `Location:       ${fields.location}\nParent:         ${fields.parent}\nChildren:       0\nDescendants:    0\nMetadata:       yes\n\n`;

const states = 'snapshot-create-as test run; suspend test; snapshot-create-as test pau; destroy test; snapshot-create-as test off';
const statesOut = "Domain snapshot run created\nDomain 'test' suspended\n\nDomain snapshot pau created\nDomain 'test' destroyed\n\nDomain snapshot off created\n";

const renameEditor = sedEditor('s|<name>s1</name>|<name>s9</name>|');

/** The deliberate deviations, each with snapvirt's expected outcome. */
export const deviationScenarios: Scenario[] = [
  {
    name: 'deviation: help snapshot-delete lists --force',
    deviation: 'snapvirt\'s own --force: a group snapshot\'s member deleted alone leaves its group (libvirt has no groups); the test driver refuses its flag as any unknown one',
    commands: 'help snapshot-delete; snapshot-create-as test s1; snapshot-delete test s1 --force',
    expected: {
      stdout: "  NAME\n    snapshot-delete - Delete a domain snapshot\n\n  SYNOPSIS\n    snapshot-delete <domain> [--snapshotname <string>] [--current] [--children] [--children-only] [--metadata] [--force]\n\n  DESCRIPTION\n    Snapshot Delete\n\n  OPTIONS\n    [--domain] <string>  domain name, id or uuid\n    --snapshotname <string>  snapshot name\n    --current        delete current snapshot\n    --children       delete snapshot and all children\n    --children-only  delete children but not snapshot\n    --metadata       delete only libvirt metadata, leaving snapshot contents behind\n    --force          delete a group snapshot\'s member alone (it leaves its group)\n\n\n" + 'Domain snapshot s1 created\n\n',
      stderr: 'error: Failed to delete snapshot s1\nerror: unsupported flags (0x40000000) in function testDomainSnapshotDelete\n',
      code: 1,
    },
  },
  ...['file=/tmp/mem.img', 'snapshot=internal', 'snapshot=external,file=/tmp/mem.img'].map((memspec): Scenario => ({
    name: `deviation: create-as --disk-only --memspec ${memspec} is refused, as qemu does`,
    deviation: 'libvirt test driver refuses VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY (0x10); with it, a memory state is refused as libvirt\'s qemu driver refuses it',
    commands: `snapshot-create-as test d1 --disk-only --memspec ${memspec}; snapshot-list test --name`,
    expected: {
      stdout: '\n\n',
      stderr: 'error: XML error: memory state cannot be saved with offline or disk-only snapshot\n',
      code: 0,
    },
  })),
  {
    name: 'deviation: create-as --disk-only --memspec snapshot=no is taken',
    deviation: 'libvirt test driver refuses VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY (0x10)',
    commands: 'snapshot-create-as test d1 --disk-only --memspec snapshot=no; snapshot-dumpxml test d1 --xpath /domainsnapshot/memory',
    expected: { stdout: 'Domain snapshot d1 created\n<memory snapshot="no"/>\n\n', stderr: '', code: 0 },
  },
  {
    name: 'deviation: create-as --disk-only on a running domain',
    deviation: 'libvirt test driver refuses VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY (0x10); snapvirt creates a disk-snapshot with generated external overlay names (metadata only)',
    commands: 'snapshot-create-as test d1 --disk-only --atomic; snapshot-info test d1; snapshot-dumpxml test d1 --xpath //disks; snapshot-list test --disk-only --name',
    expected: {
      stdout: 'Domain snapshot d1 created\n' + info('d1', { current: 'yes', state: 'disk-snapshot', location: 'external', parent: '-' }) +
        '<disks>\n  <disk name="vda" snapshot="external" type="file">\n    <source file="/guest/diskimage1.d1"/>\n  </disk>\n</disks>\n\n' +
        'd1\n\n',
      stderr: '',
      code: 0,
    },
  },
  {
    name: 'deviation: create-as --disk-only on a shut-off domain',
    deviation: 'libvirt test driver refuses VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY (0x10); offline disk-only snapshots have state shutoff, as with qemu',
    commands: 'destroy test; snapshot-create-as test d1 --disk-only --diskspec vda,file=/img/d1.qcow2; snapshot-info test d1; snapshot-dumpxml test d1 --xpath /domainsnapshot/disks/disk/source',
    expected: {
      stdout: "Domain 'test' destroyed\n\nDomain snapshot d1 created\n" + info('d1', { current: 'yes', state: 'shutoff', location: 'external', parent: '-' }) +
        '<source file="/img/d1.qcow2"/>\n\n',
      stderr: '',
      code: 0,
    },
  },
  {
    name: 'deviation: create --redefine --disk-only, then make it current',
    deviation: 'libvirt test driver refuses DISK_ONLY (0x10), so virsh cannot redefine disk-snapshot metadata with --disk-only nor make such a snapshot current (virsh adds DISK_ONLY)',
    commands: 'snapshot-create test ds.xml --redefine --disk-only; snapshot-current test ds; snapshot-info test ds',
    files: { 'ds.xml': fixture('ds.xml') },
    expected: {
      stdout: "Domain snapshot ds created from 'ds.xml'\nSnapshot ds set as current\n" + info('ds', { current: 'yes', state: 'disk-snapshot', location: 'external', parent: '-' }),
      stderr: '',
      code: 0,
    },
  },
  {
    name: 'deviation: create-as --no-metadata',
    deviation: 'libvirt test driver refuses VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA (0x4); snapvirt creates the snapshot and keeps no metadata, as qemu does',
    commands: 'snapshot-create-as test n1 --no-metadata; snapshot-list test --name; snapshot-info test n1',
    expected: {
      stdout: 'Domain snapshot n1 created\n\n\n',
      stderr: "error: Domain snapshot not found: no domain snapshot with matching name 'n1'\n",
      code: 1,
    },
  },
  {
    name: 'deviation: create-as --reuse-external',
    deviation: 'libvirt test driver refuses VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT (0x20); snapvirt accepts it (metadata only in the test driver)',
    commands: 'snapshot-create-as test r1 --disk-only --reuse-external --diskspec vda,file={dir}/pre.qcow2; snapshot-dumpxml test r1 --xpath /domainsnapshot/disks/disk/source',
    files: { 'pre.qcow2': '' },
    expected: {
      stdout: 'Domain snapshot r1 created\n<source file="{dir}/pre.qcow2"/>\n\n',
      stderr: '',
      code: 0,
    },
  },
  {
    name: 'deviation: delete --metadata',
    deviation: 'libvirt test driver refuses VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY (0x2); snapvirt deletes the metadata',
    commands: 'snapshot-create-as test a; snapshot-create-as test b; snapshot-delete test a --metadata; snapshot-list test --name; snapshot-info test b',
    expected: {
      stdout: 'Domain snapshot a created\nDomain snapshot b created\nDomain snapshot a deleted\n\nb\n\n' + info('b', { current: 'yes', state: 'running', location: 'internal', parent: '-' }),
      stderr: '',
      code: 0,
    },
  },
  {
    name: 'deviation: edit --rename',
    deviation: 'libvirt test driver refuses DELETE_METADATA_ONLY, so virsh snapshot-edit --rename fails and leaves both names; snapvirt renames',
    commands: 'snapshot-create-as test s1; snapshot-edit test s1 --rename; snapshot-list test --name',
    env: { EDITOR: '{dir}/ed.sh' },
    files: { 'ed.sh': renameEditor },
    expected: { stdout: 'Domain snapshot s1 created\n\ns9\n\n', stderr: '', code: 0 },
  },
  {
    name: 'deviation: edit changing the name without --rename or --clone',
    deviation: 'libvirt test driver refuses DELETE_METADATA_ONLY, so virsh cannot clean up the new name and reports "Failed to clean up s9"; snapvirt removes it and reports the missing option',
    commands: 'snapshot-create-as test s1; snapshot-edit test s1; snapshot-list test --name',
    env: { EDITOR: '{dir}/ed.sh' },
    files: { 'ed.sh': renameEditor },
    expected: {
      stdout: 'Domain snapshot s1 created\n\ns1\n\n',
      stderr: 'error: Must use --rename or --clone to change s1 to s9\nerror: Failed to update s1\n',
      code: 0,
    },
  },
  {
    name: 'deviation: edit with rejected XML',
    deviation: 'virsh 9.0 segfaults (exit 139) in snapshot-edit when the edited XML is rejected and stdin is not a TTY; snapvirt reports the failure',
    commands: 'snapshot-create-as test s1; snapshot-edit test s1',
    env: { EDITOR: '{dir}/ed.sh' },
    files: { 'ed.sh': sedEditor('s|<state>running</state>|<state>bogus</state>|') },
    expected: {
      stdout: 'Domain snapshot s1 created\n\n',
      stderr: "error: Failed.\nerror: Failed to update s1\nerror: unsupported configuration: Invalid state 'bogus' in domain snapshot XML\n",
      code: 1,
    },
  },
  {
    name: 'deviation: revert --reset-nvram',
    deviation: 'libvirt test driver refuses VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM (0x8); snapvirt accepts it (no NVRAM in the test driver)',
    commands: 'snapshot-create-as test a; snapshot-revert test a --reset-nvram; domstate test --reason',
    expected: { stdout: 'Domain snapshot a created\nDomain snapshot a reverted\n\nrunning (from snapshot)\n\n', stderr: '', code: 0 },
  },
  {
    name: 'deviation: SNAPVIRT_DEFAULT_URI without -c',
    deviation: 'snapvirt also reads SNAPVIRT_DEFAULT_URI (virsh knows only LIBVIRT_DEFAULT_URI)',
    uri: null,
    commands: 'uri; snapshot-create-as test s1',
    env: { SNAPVIRT_DEFAULT_URI: 'test:///default' },
    expected: { stdout: 'test:///default\n\nDomain snapshot s1 created\n', stderr: '', code: 0 },
  },
  {
    name: 'deviation: SNAPVIRT_DEFAULT_URI wins over LIBVIRT_DEFAULT_URI',
    deviation: 'snapvirt reads SNAPVIRT_DEFAULT_URI before LIBVIRT_DEFAULT_URI',
    uri: null,
    commands: 'uri',
    env: { SNAPVIRT_DEFAULT_URI: 'test:///default', LIBVIRT_DEFAULT_URI: 'test:///{dir}/nope.xml' },
    expected: { stdout: 'test:///default\n\n', stderr: '', code: 0 },
  },
  {
    name: 'deviation: interactive shell with stdin closed',
    deviation: 'the interactive banner and prompt name snapvirt instead of virsh',
    argv: [],
    expected: {
      stdout: "Welcome to snapvirt, the virtualization interactive terminal.\n\nType:  'help' for help with commands\n       'quit' to quit\n\nsnapvirt # \n",
      stderr: '',
      code: 0,
    },
  },
  {
    name: 'deviation: revert shut-off snapshot --running',
    deviation: 'libvirt test driver bug: reverting an inactive snapshot with --running leaves the domain shut off; snapvirt starts it',
    commands: `${states}; snapshot-revert test off --running; domstate test --reason`,
    expected: { stdout: `${statesOut}Domain snapshot off reverted\n\nrunning (from snapshot)\n\n`, stderr: '', code: 0 },
  },
  {
    name: 'deviation: revert shut-off snapshot --paused',
    deviation: 'libvirt test driver bug: reverting an inactive snapshot with --paused leaves the domain shut off; snapvirt starts it paused',
    commands: `${states}; snapshot-revert test off --paused; domstate test --reason`,
    expected: { stdout: `${statesOut}Domain snapshot off reverted\n\npaused (from snapshot)\n\n`, stderr: '', code: 0 },
  },
];
