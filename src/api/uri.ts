/**
 * Connection URIs: which driver serves which URI, and the default URI when none is given
 * (SNAPVIRT_DEFAULT_URI, then LIBVIRT_DEFAULT_URI, then qemu:///system for root and
 * qemu:///session for everyone else, as libvirt does).
 */
import type { DriverFactory } from '../drivers/driver.js';
import { virError, VirErrorCode, VirErrorDomain } from './errors.js';

/** Driver modules are imported only when a URI needs them, to keep start-up fast. */
const DRIVERS: Record<string, () => Promise<DriverFactory>> = {
  test: async () => (await import('../drivers/test/test-driver.js')).openTestDriver,
  qemu: async () => (await import('../drivers/qemu/qemu-driver.js')).openQemuDriver,
};

/** The URI used when the caller gives none. */
export function defaultURI(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.SNAPVIRT_DEFAULT_URI || env.LIBVIRT_DEFAULT_URI;
  if (fromEnv) return fromEnv;
  return process.getuid?.() === 0 ? 'qemu:///system' : 'qemu:///session';
}

/** Finds the driver factory for `uri`, or throws libvirt's "no connection driver" error. */
export async function driverFactoryFor(uri: string): Promise<{ factory: DriverFactory; url: URL }> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw virError(VirErrorCode.NO_CONNECT, VirErrorDomain.NONE, uri);
  }
  const scheme = url.protocol.replace(/:$/, '');
  const load = DRIVERS[scheme];
  if (!load) throw virError(VirErrorCode.NO_CONNECT, VirErrorDomain.NONE, uri);
  return { factory: await load(), url };
}
