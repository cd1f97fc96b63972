/** Snapshots preloaded through a custom test-driver node file (`test:///ABS/PATH.xml`). */
import type { Scenario } from '../scenario.js';
import { fixture } from './common.js';

const d = 'node';

/** Domain `nd` (running) with two preloaded snapshots: `base` (running) and its current child `child` (shut off). */
const files = { 'node.xml': fixture('node.xml') };
const uri = 'test://{dir}/node.xml';
/**
 * The same plus a root `old` whose metadata lacks the full domain, so reverting it is risky.
 * Loading it makes libvirt log "parsing older snapshot that lacks domain" (with its version
 * and the host name) on stderr, so only the scenarios about `old` use it.
 */
const oldFiles = { 'node.xml': fixture('node-old.xml') };

/**
 * A node with host <cpu>/<memory>, a shut-off domain `off` (block disk), a paused domain
 * `paused` with a disk-snapshot-state snapshot `ds` (no <disks>), and a disk-less `plain`.
 */
const mixed = { files: { 'node.xml': fixture('node-mixed.xml') }, uri: 'test://{dir}/node.xml' };

/** Scenarios on a preloaded node file. */
export const nodeFileScenarios: Scenario[] = [
  { name: `${d}: mixed list and dominfo`, ...mixed, commands: 'list --all; dominfo off; dominfo paused; domstate paused --reason' },
  { name: `${d}: mixed block disk`, ...mixed, commands: 'domblklist off --details; snapshot-create-as off s1; snapshot-dumpxml off s1 --xpath //disks; snapshot-list off' },
  { name: `${d}: mixed disk-snapshot state snapshot`, ...mixed, commands: 'snapshot-list paused --parent; snapshot-info paused ds; snapshot-list paused --disk-only; snapshot-list paused --external --name; snapshot-dumpxml paused ds' },
  { name: `${d}: mixed revert to a disk-snapshot state`, ...mixed, commands: 'snapshot-revert paused ds; domstate paused --reason; list --all' },
  { name: `${d}: mixed snapshot of a disk-less domain`, ...mixed, commands: 'snapshot-create-as plain p1; snapshot-dumpxml plain p1; dumpxml plain' },
  { name: `${d}: mixed paused domain snapshot and lifecycle`, ...mixed, commands: 'snapshot-create-as paused p; snapshot-info paused p; resume paused; domstate paused --reason; start off; list' },
  { name: `${d}: list preloaded`, uri, files, commands: 'list --all; snapshot-list nd --parent' },
  { name: `${d}: tree with two roots`, uri, files: oldFiles, commands: 'snapshot-list nd --tree; snapshot-list nd --roots --name' },
  { name: `${d}: current from <active>`, uri, files, commands: 'snapshot-current nd --name; snapshot-info nd child' },
  { name: `${d}: dumpxml preloaded`, uri, files, commands: 'snapshot-dumpxml nd child' },
  { name: `${d}: dumpxml snapshot without full domain`, uri, files: oldFiles, commands: 'snapshot-dumpxml nd old; snapshot-info nd old' },
  { name: `${d}: revert to preloaded`, uri, files, commands: 'snapshot-revert nd base; domstate nd --reason; snapshot-revert nd child; domstate nd --reason' },
  { name: `${d}: risky revert refused, also with --force`, uri, files: oldFiles, commands: 'snapshot-revert nd old; snapshot-revert nd old --force' },
  { name: `${d}: create on top of preloaded`, uri, files, commands: 'snapshot-create-as nd new; snapshot-list nd --tree; snapshot-parent nd new' },
  { name: `${d}: delete preloaded`, uri, files, commands: 'snapshot-delete nd base; snapshot-list nd --parent; snapshot-current nd --name' },
  { name: `${d}: filters on preloaded`, uri, files, commands: 'snapshot-list nd --inactive --name; snapshot-list nd --active --name; snapshot-list nd --leaves --name' },
  { name: `${d}: undefine with snapshots`, uri, files, commands: 'destroy nd; undefine nd; undefine nd --snapshots-metadata; list --all' },
  { name: `${d}: uri`, uri, files, commands: 'uri' },
];
