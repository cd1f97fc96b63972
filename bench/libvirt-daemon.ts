/**
 * A private libvirtd 9.0 with its qemu driver, set up the way
 * libvirt's Debian packaging expects: Debian packages, a `libvirt-qemu`
 * user (libvirtd resolves its default user before reading qemu.conf), a qemu.conf that
 * runs QEMU as root without security driver, cgroups, namespaces or virtlogd, and a
 * libvirtd.conf of our own whose sockets live in the bench's scratch directory, so the
 * daemon is reached only through `qemu:///system?socket=…`. Everything it changed on the
 * host (the user, qemu.conf) is put back by stop().
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, runTimed, type TimedRun } from './run-timed.js';

const LIBVIRTD = '/usr/sbin/libvirtd';
const QEMU_CONF = '/etc/libvirt/qemu.conf';
const QEMU_CONF_DIR = '/etc/libvirt/qemu';
const QEMU_CONF_BACKUP = '/etc/libvirt/qemu.conf.snapvirt-bench-backup';
/** Directories libvirtd 9.0 creates under /etc/libvirt at its start (seen after a bench run). */
const LIBVIRTD_EMPTY_DIRS = ['/etc/libvirt/nwfilter', '/etc/libvirt/secrets'];

const QEMU_CONF_TEXT = `# written by snapvirt's bench; removed when it ends
user = "root"
group = "root"
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]
namespaces = [ ]
`;

/** Every domain the bench defines in libvirt has a name starting with this; stop() removes them. */
export const BENCH_DOMAIN_PREFIX = 'sv-bench-';

/** A running private libvirtd. */
export interface LibvirtDaemon {
  /** The connection URI for virsh -c. */
  uri: string;
  /** libvirtd's debug log (QMP traffic of qemu.qemu_monitor, with timestamps). */
  logFile: string;
  /** Runs `virsh -c uri …args`, failing on a non-zero exit. */
  virsh(args: readonly string[]): Promise<TimedRun>;
  /** Destroys and undefines the bench's domains (BENCH_DOMAIN_PREFIX), stops the daemon, restores the host. */
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function userExists(name: string): Promise<boolean> {
  return (await readFile('/etc/passwd', 'utf8')).split('\n').some((l) => l.startsWith(`${name}:`));
}

async function groupExists(name: string): Promise<boolean> {
  return (await readFile('/etc/group', 'utf8')).split('\n').some((l) => l.startsWith(`${name}:`));
}

/** Installs libvirtd when missing (apt-get, as the issue allows). */
async function ensureInstalled(log: (m: string) => void): Promise<void> {
  if (existsSync(LIBVIRTD)) return;
  if (process.getuid?.() !== 0) throw new Error('libvirtd is not installed and the bench is not root, so it cannot install it');
  log('installing libvirt-daemon and libvirt-daemon-driver-qemu with apt-get …');
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'libvirt-daemon', 'libvirt-daemon-driver-qemu'],
    { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!existsSync(LIBVIRTD)) throw new Error(`apt-get finished but ${LIBVIRTD} is missing`);
}

/** Starts the daemon in `dir`; throws with the reason when it cannot. */
export async function startLibvirtDaemon(dir: string, log: (m: string) => void): Promise<LibvirtDaemon> {
  if (process.getuid?.() !== 0) throw new Error('the qemu driver of libvirtd needs root here (system mode); the bench is not root');
  await ensureInstalled(log);
  const undo: (() => Promise<void>)[] = [];
  const restore = async (): Promise<void> => {
    for (const u of undo.reverse()) await u().catch((e: unknown) => log(`libvirt cleanup: ${String(e)}`));
  };
  try {
    if (!await groupExists('libvirt-qemu')) {
      await run('groupadd', ['-r', 'libvirt-qemu']);
      undo.push(async () => { await run('groupdel', ['libvirt-qemu']).catch(() => ''); });
    }
    if (!await userExists('libvirt-qemu')) {
      await run('useradd', ['-r', '-M', '-g', 'libvirt-qemu', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', 'libvirt-qemu']);
      // userdel first: the group cannot go while it is the user's primary group.
      undo.push(async () => { await run('userdel', ['libvirt-qemu']); });
    }
    if (existsSync(QEMU_CONF)) {
      await rename(QEMU_CONF, QEMU_CONF_BACKUP);
      undo.push(async () => { await rename(QEMU_CONF_BACKUP, QEMU_CONF); });
    } else {
      undo.push(async () => { await rm(QEMU_CONF, { force: true }); });
    }
    await mkdir('/etc/libvirt', { recursive: true });
    if (!existsSync(QEMU_CONF_DIR)) {
      // libvirtd keeps domain definitions there; after the bench's domains are undefined it is empty again.
      undo.push(async () => { await rmdir(QEMU_CONF_DIR).catch(() => undefined); });
    }
    for (const made of LIBVIRTD_EMPTY_DIRS) {
      // libvirtd creates these, empty, at its start; rmdir leaves them if something was put there.
      if (!existsSync(made)) undo.push(async () => { await rmdir(made).catch(() => undefined); });
    }
    await writeFile(QEMU_CONF, QEMU_CONF_TEXT, { mode: 0o600 });

    const sockDir = join(dir, 'sock');
    await mkdir(sockDir, { recursive: true, mode: 0o700 });
    const logFile = join(dir, 'libvirtd.log');
    const conf = join(dir, 'libvirtd.conf');
    const pidFile = join(dir, 'libvirtd.pid');
    await writeFile(conf, [
      `unix_sock_dir = "${sockDir}"`,
      // The monitor at debug level gives timestamps of the transaction's send and reply.
      'log_filters = "1:qemu.qemu_monitor 3:*"',
      `log_outputs = "1:file:${logFile}"`,
      '',
    ].join('\n'));
    await run(LIBVIRTD, ['-d', '-f', conf, '-p', pidFile]);
    const readPid = async (): Promise<number | undefined> => {
      const n = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
      return Number.isSafeInteger(n) && n > 0 ? n : undefined;
    };
    undo.push(async () => {
      const pid = await readPid();
      if (pid === undefined) return;
      try { process.kill(pid, 'SIGTERM'); } catch { return; }
      for (let i = 0; i < 100; i++) {
        try { process.kill(pid, 0); } catch { return; }
        await sleep(100);
      }
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    });
    const uri = `qemu:///system?socket=${join(sockDir, 'libvirt-sock')}`;
    const virsh = (args: readonly string[]): Promise<TimedRun> => runTimed('virsh', ['-q', '-c', uri, ...args]);
    // The first connection probes QEMU's capabilities (seconds); do it before timing anything.
    let lastErr: unknown;
    for (let i = 0; i < 50; i++) {
      try {
        await virsh(['version']);
        lastErr = undefined;
        break;
      } catch (err) {
        lastErr = err;
        await sleep(200);
      }
    }
    if (lastErr) throw lastErr;
    return {
      uri,
      logFile,
      virsh,
      stop: async () => {
        const all = await virsh(['list', '--all', '--name']).then((r) => r.stdout.split('\n'), () => []);
        for (const name of all.map((l) => l.trim()).filter((l) => l.startsWith(BENCH_DOMAIN_PREFIX))) {
          await virsh(['destroy', name]).catch(() => undefined);
          await virsh(['undefine', name, '--snapshots-metadata']).catch(() => undefined);
        }
        await restore();
      },
    };
  } catch (err) {
    await restore();
    throw err;
  }
}
