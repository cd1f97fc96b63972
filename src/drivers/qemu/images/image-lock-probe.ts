/**
 * Is another process using an image? QEMU (qemu-system, qemu-img, qemu-io) announces how
 * it uses an image with shared OFD locks on single bytes of the image file (file-posix.c,
 * raw_apply_lock_bytes): byte 100+p while it holds permission p, byte 200+p while it does
 * not let others have p (p: 0 consistent read, 1 write, 2 write unchanged, 3 resize). A
 * read-write holder locks 100, 101, 103, 201 and 203, for instance.
 *
 * Node cannot call fcntl(F_OFD_GETLK), but the kernel lists every file lock in
 * /proc/locks (what lslocks reads). Reading it once answers the question qemu-img's own
 * lock check would, without starting a process. Where the answer is not certain (no
 * /proc/locks, or the image's device number does not match the one the kernel lists for
 * that inode, as on btrfs subvolumes) the probe says so and the caller asks qemu-img.
 *
 * Reading /proc/locks is not cheap: the kernel freezes the lock lists for the reader with
 * a per-CPU rwsem taken for writing, which waits for an RCU grace period (10-30 ms
 * measured here, for an empty list). So a check over several images reads it once
 * ({@link readLockTable}), as soon as it may (under the domain lock), and every probe of
 * that check judges from that one reading.
 */
import { readFile, stat } from 'node:fs/promises';

/** How the caller will use the image: only read it (like qemu-img info), or change it. */
export type ImageAccess = 'read' | 'write';

const PERM_BASE = 100;
const SHARED_BASE = 200;
const PERM_NAMES = ['consistent read', 'write', 'write unchanged', 'resize'] as const;
const CONSISTENT_READ = 0;
const WRITE = 1;
const RESIZE = 3;

/** The permissions qemu-img takes and refuses to share, per access (qemu-img info / a read-write open). */
const WANTED: Record<ImageAccess, { perms: number[]; unshared: number[] }> = {
  read: { perms: [CONSISTENT_READ], unshared: [WRITE] },
  write: { perms: [CONSISTENT_READ, WRITE, RESIZE], unshared: [WRITE, RESIZE] },
};

/** One byte-range lock of /proc/locks. */
interface ListedLock {
  major: number;
  minor: number;
  inode: bigint;
  start: number;
  end: number;
}

/** The result of a probe. */
export type LockProbeResult =
  | { kind: 'free' }
  /** Another process holds the image; `message` is qemu's wording ("Failed to get shared "write" lock"). */
  | { kind: 'held'; message: string }
  /** The probe cannot tell: ask qemu-img. */
  | { kind: 'unknown' };

/** One reading of /proc/locks (undefined where it cannot be read), shared by the probes of one check. */
export type LockTable = Promise<string | undefined>;

/**
 * Starts reading /proc/locks. The reading reflects the moment it is made: take it only
 * once the domain lock is held (snapvirt's own qemu-img runs of this domain are over).
 */
export function readLockTable(): LockTable {
  return readFile('/proc/locks', 'utf8').catch(() => undefined);
}

/** Parses /proc/locks: the OFD and POSIX locks (QEMU uses OFD, POSIX where OFD is missing); waiters are skipped. */
function parseProcLocks(text: string): ListedLock[] {
  const out: ListedLock[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // "12: OFDLCK ADVISORY READ -1 fe:00:2154641 100 101"; a waiter has "->" after the number.
    if (f.length < 8 || f[1] === '->' || (f[1] !== 'OFDLCK' && f[1] !== 'POSIX')) continue;
    const dev = f[5]!.split(':');
    if (dev.length !== 3) continue;
    const end = f[7] === 'EOF' ? Number.MAX_SAFE_INTEGER : Number(f[7]);
    out.push({
      major: Number.parseInt(dev[0]!, 16), minor: Number.parseInt(dev[1]!, 16), inode: BigInt(dev[2]!),
      start: Number(f[6]), end,
    });
  }
  return out;
}

/** Splits a stat() device number the way glibc's major()/minor() do. */
function splitDev(dev: bigint): { major: number; minor: number } {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

/**
 * Whether another process holds `path` in a way that conflicts with `access`, judged as
 * qemu's raw_check_lock_bytes would: first the permissions we want against the bytes
 * others lock to refuse sharing them, then the permissions we refuse to share against the
 * bytes of others holding them. snapvirt itself never holds these locks (its own qemu-img
 * processes have exited by the time it probes), so every such lock is someone else's.
 */
export async function probeImageLock(path: string, access: ImageAccess, table: LockTable = readLockTable()): Promise<LockProbeResult> {
  const [text, st] = await Promise.all([table, stat(path, { bigint: true }).catch(() => undefined)]);
  if (text === undefined || st === undefined) return { kind: 'unknown' };
  const { major, minor } = splitDev(st.dev);
  const mine = parseProcLocks(text).filter((l) => l.inode === st.ino);
  if (mine.some((l) => l.major !== major || l.minor !== minor)) return { kind: 'unknown' };
  const locked = (byte: number): boolean => mine.some((l) => l.start <= byte && byte <= l.end);
  const wanted = WANTED[access];
  for (const p of wanted.perms) {
    if (locked(SHARED_BASE + p)) return held(`Failed to get "${PERM_NAMES[p]}" lock`, path);
  }
  for (const p of wanted.unshared) {
    if (locked(PERM_BASE + p)) return held(`Failed to get shared "${PERM_NAMES[p]}" lock`, path);
  }
  return { kind: 'free' };
}

function held(what: string, path: string): LockProbeResult {
  return { kind: 'held', message: `${what}\nIs another process using the image [${path}]?` };
}
