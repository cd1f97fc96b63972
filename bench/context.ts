/** What every scenario gets: options from argv, paths, the libvirt daemon if it runs. */
import type { LibvirtDaemon } from './libvirt-daemon.js';

/** Shared settings and handles of one bench run. */
export interface BenchContext {
  /** Repetitions per measured case (at least 5). */
  runs: number;
  /** Smaller sizes, for development. */
  quick: boolean;
  /** A private scratch directory, removed at the end. */
  workDir: string;
  /** Absolute path of bin/snapvirt. */
  snapvirtBin: string;
  /** Absolute path of bin/snapvirtd. */
  snapvirtdBin: string;
  /** The running private libvirtd, or why there is none. */
  libvirt: LibvirtDaemon | { unavailable: string };
  /** Progress on stderr. */
  log: (msg: string) => void;
}

/** The daemon when it runs, else undefined. */
export function libvirtOf(ctx: BenchContext): LibvirtDaemon | undefined {
  return 'unavailable' in ctx.libvirt ? undefined : ctx.libvirt;
}

/** Why libvirt is not available ('' when it is). */
export function libvirtMissing(ctx: BenchContext): string {
  return 'unavailable' in ctx.libvirt ? ctx.libvirt.unavailable : '';
}
