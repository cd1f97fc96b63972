/**
 * The real-disk half of `npm start`: a two-disk shut-off machine on real qcow2 images in a
 * throwaway directory, driven through the same virsh-compatible command line on
 * qemu:///session (state kept in the throwaway directory too). Data is written and read
 * back with qemu-io so the reader sees that nothing is lost.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from '../src/index.js';
import { parseDomainXML } from '../src/conf/domain-xml.js';
import { main } from '../src/cli/main.js';
import { ensureXmlParser } from '../src/conf/xml-parse.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** Writes pattern byte `pattern` over the first MiB of `image` (through its backing chain). */
async function writePattern(image: string, pattern: number): Promise<void> {
  await run('qemu-io', ['-f', 'qcow2', '-c', `write -P ${pattern} 0 ${MiB}`, image]);
}

/** Says whether the first MiB of `image` reads back as `pattern`. */
async function readsPattern(image: string, pattern: number): Promise<boolean> {
  try {
    await run('qemu-io', ['-r', '-f', 'qcow2', '-c', `read -P ${pattern} 0 ${MiB}`, image]);
    return true;
  } catch {
    return false;
  }
}

/** The image `domain`'s first disk uses now (after a revert it is a fresh overlay). */
async function activeImageOf(domain: string): Promise<string> {
  const conn = await connect('qemu:///session');
  try {
    const xml = await (await conn.domainLookupByName(domain)).getXMLDesc();
    return parseDomainXML(xml).disks[0]?.sourcePath ?? '';
  } finally {
    await conn.close();
  }
}

const activeImageOfFirstDisk = (): Promise<string> => activeImageOf('db');

function say(text: string): void {
  process.stdout.write(`\n## ${text}\n`);
}

/** Runs snapvirt commands against the throwaway qemu:///session, echoing each one. */
async function snapvirt(...commands: string[]): Promise<void> {
  for (const command of commands) {
    process.stdout.write(`$ snapvirt ${command}\n`);
    await main(['-c', 'qemu:///session', command]);
  }
}

function domainXml(disks: string[], name = 'db'): string {
  const diskXml = disks.map((path, i) => `    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${path}'/>
      <target dev='vd${String.fromCharCode(97 + i)}' bus='virtio'/>
    </disk>`).join('\n');
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
${diskXml}
  </devices>
</domain>
`;
}

/** Whether qemu-system-x86_64 can be run here (the running-machine part needs it). */
async function hasQemuSystem(): Promise<boolean> {
  try {
    await run('qemu-system-x86_64', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * The same machine running (no guest OS: the firmware idles, which is enough for disks):
 * data goes in through QEMU's monitor, one atomic live snapshot switches both disks in one
 * QMP transaction, and the data is where it belongs afterwards.
 */
async function runningTour(): Promise<void> {
  say('Start the machine (QEMU runs detached) and write pattern 0xCC into the running vda through the monitor.');
  await snapvirt('start db', 'domstate db --reason',
    'qemu-monitor-command db --hmp \'qemu-io -d disk-vda/virtio-backend "write -P 0xcc 0 1M"\'');
  say('An atomic live snapshot: overlays are prepared first, then one QMP transaction switches both disks.');
  const frozen = await activeImageOfFirstDisk();
  try {
    await snapvirt('snapshot-create-as db live --disk-only --atomic', 'domblklist db', 'snapshot-list db');
  } finally {
    await snapvirt('destroy db');
  }
  process.stdout.write(`the frozen image ${frozen} holds the running write 0xCC: ${await readsPattern(frozen, 0xcc)}\n`);
  await snapvirt('snapshot-delete db live');
}

/**
 * A group snapshot of two machines (snapvirt's own): "web" joins "db", one snapshot of
 * both in one commit; a bad release is written into both; the group revert takes both back.
 */
async function groupTour(dir: string): Promise<void> {
  say('A second machine "web" (one disk, pattern 0xAA), and ONE snapshot of both machines, all or nothing (snapvirt\'s own).');
  const webDisk = join(dir, 'web0.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', webDisk, '16M']);
  await writePattern(webDisk, 0xaa);
  await writeFile(join(dir, 'web.xml'), domainXml([webDisk], 'web'), { mode: 0o600 });
  await snapvirt(`define ${join(dir, 'web.xml')}`, 'group-snapshot-create release db web --description "before the release" --disk-only',
    'group-snapshot-info release', 'snapshot-list web');
  const tops = [await activeImageOf('db'), await activeImageOf('web')];
  for (const top of tops) await writePattern(top, 0xdd);
  process.stdout.write('(the "release" writes pattern 0xDD into both machines)\n');
  say('Revert the group: both machines go back to the same instant together.');
  await snapvirt('group-snapshot-revert release');
  const reverted = [await activeImageOf('db'), await activeImageOf('web')];
  const both = (await Promise.all(reverted.map((image) => readsPattern(image, 0xaa)))).every(Boolean);
  process.stdout.write(`db and web both read 0xAA again: ${both}\n`);
  await snapvirt('group-snapshot-delete release', 'group-snapshot-list', 'undefine web');
}

/** The tour on real images; everything it makes is removed at the end. */
export async function runQemuTour(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'snapvirt-tour-'));
  const previousStateDir = process.env.SNAPVIRT_STATE_DIR;
  process.env.SNAPVIRT_STATE_DIR = join(dir, 'state');
  const disks = [join(dir, 'data0.qcow2'), join(dir, 'data1.qcow2')];
  try {
    process.stdout.write(`\nsnapvirt tour on real qcow2 images (qemu:///session, state in ${dir})\n`);
    say('A shut-off machine "db" with two 16 MiB qcow2 disks; pattern 0xAA is written into both.');
    for (const disk of disks) {
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
      await writePattern(disk, 0xaa);
    }
    await writeFile(join(dir, 'db.xml'), domainXml(disks), { mode: 0o600 });
    await snapvirt(`define ${join(dir, 'db.xml')}`, 'domblklist db');

    say('An atomic external snapshot: one qcow2 overlay per disk (mode 0600), the machine switches to them.');
    await snapvirt('snapshot-create-as db before-upgrade "before the upgrade" --disk-only --atomic', 'domblklist db');
    const overlays = disks.map((d) => d.replace(/\.qcow2$/, '.before-upgrade'));
    for (const overlay of overlays) await writePattern(overlay, 0xbb);
    process.stdout.write('(the "upgrade" writes pattern 0xBB into both overlays)\n');

    say('A snapshot whose second disk cannot be written (its directory does not exist): it fails, and nothing changes.');
    const before = (await readdir(dir)).sort().join(' ');
    await snapvirt(
      `snapshot-create-as db broken --disk-only --atomic --diskspec vda,file=${join(dir, 'ok.qcow2')} --diskspec vdb,file=${join(dir, 'missing', 'x.qcow2')}`,
    );
    const after = (await readdir(dir)).sort().join(' ');
    process.stdout.write(`files before: ${before}\nfiles after:  ${after}\nunchanged: ${before === after}\n`);
    await snapvirt('snapshot-list db --tree', 'domblklist db');

    say('Revert to "before-upgrade": new overlays on the snapshot\'s images; the machine reads 0xAA again.');
    await snapvirt('snapshot-revert db before-upgrade', 'domblklist db');
    const active = await activeImageOfFirstDisk();
    process.stdout.write(`vda (${active}) reads 0xAA: ${await readsPattern(active, 0xaa)}; the abandoned overlay still holds 0xBB: ${await readsPattern(overlays[0]!, 0xbb)}\n`);

    say('Delete the snapshot (metadata first, then the disks are merged); the base images keep their data.');
    await snapvirt('snapshot-delete db before-upgrade', 'snapshot-list db', 'domblklist db');
    const afterDelete = await activeImageOfFirstDisk();
    process.stdout.write(`vda (${afterDelete}) still reads 0xAA: ${await readsPattern(afterDelete, 0xaa)}\n`);
    await groupTour(dir);
    if (await hasQemuSystem()) await runningTour();
    await snapvirt('undefine db');
  } finally {
    if (previousStateDir === undefined) delete process.env.SNAPVIRT_STATE_DIR;
    else process.env.SNAPVIRT_STATE_DIR = previousStateDir;
    await rm(dir, { recursive: true, force: true });
  }
}
