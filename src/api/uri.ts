/**
 * Connection URIs: which driver serves which URI, and the default URI when none is given
 * (SNAPVIRT_DEFAULT_URI, then LIBVIRT_DEFAULT_URI, then qemu:///system for root and
 * qemu:///session for everyone else, as libvirt does). A scheme with a transport
 * (`qemu+unix`, `test+ssh`, …) is the remote driver's, whatever its driver part: the
 * daemon it reaches (snapvirtd or a libvirtd) decides what it serves.
 */
import type { DriverFactory, DriverIdentity } from '../drivers/driver.js';
import { virError, VirErrorCode, VirErrorDomain } from './errors.js';

/** Driver modules are imported only when a URI needs them, to keep start-up fast. */
const DRIVERS: Record<string, () => Promise<DriverFactory>> = {
  test: async () => (await import('../drivers/test/test-driver.js')).openTestDriver,
  qemu: async () => (await import('../drivers/qemu/open-qemu-driver.js')).openQemuDriver,
};

/** The remote driver (drivers/remote/), for every `driver+transport` scheme. */
const REMOTE_DRIVER = async (): Promise<DriverFactory> => (await import('../drivers/remote/remote-driver.js')).openRemoteDriver;

/** Whether `scheme` has a transport part (`qemu+unix`): the remote driver's. */
function isRemoteScheme(scheme: string): boolean {
  return /^[a-z0-9][a-z0-9.-]*\+[a-z0-9]+$/i.test(scheme);
}

/**
 * Drivers that can say who they are without being opened (their identity needs no state):
 * `version` asks only this, so it does not pay for opening a store.
 */
const IDENTITIES: Record<string, () => Promise<(url: URL, rawUri: string) => DriverIdentity>> = {
  qemu: async () => (await import('../drivers/qemu/qemu-identity.js')).qemuIdentity,
};

/** The URI used when the caller gives none. */
export function defaultURI(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.SNAPVIRT_DEFAULT_URI || env.LIBVIRT_DEFAULT_URI;
  if (fromEnv) return fromEnv;
  return process.getuid?.() === 0 ? 'qemu:///system' : 'qemu:///session';
}

/** Parses `uri` and names its driver, or throws libvirt's "no connection driver" error. */
function driverSchemeOf(uri: string): { scheme: string; url: URL } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw virError(VirErrorCode.NO_CONNECT, VirErrorDomain.NONE, uri);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!Object.hasOwn(DRIVERS, scheme) && !isRemoteScheme(scheme)) throw virError(VirErrorCode.NO_CONNECT, VirErrorDomain.NONE, uri);
  return { scheme, url };
}

/**
 * Whether `uri` is served by the remote driver (its scheme has a transport). A daemon asks
 * this before opening a URI a client sent: it serves its local drivers only, since opening
 * a remote URI would run ssh (or the URI's command=) as the daemon.
 */
export function isRemoteURI(uri: string): boolean {
  // Parsed as connect() parses it (URL drops blanks around and tabs within a URI), so no spelling slips by.
  try {
    return isRemoteScheme(new URL(uri).protocol.replace(/:$/, ''));
  } catch {
    return false;
  }
}

/** Finds the driver factory for `uri`, or throws libvirt's "no connection driver" error. */
export async function driverFactoryFor(uri: string): Promise<{ factory: DriverFactory; url: URL }> {
  const { scheme, url } = driverSchemeOf(uri);
  return { factory: await (isRemoteScheme(scheme) ? REMOTE_DRIVER : DRIVERS[scheme])(), url };
}

/**
 * The identity of the driver serving `uri` (default: defaultURI()) when it can be had
 * without opening the driver, else undefined (the caller connects). A URI that connecting
 * would refuse is refused with the same error.
 */
export async function identityWithoutOpening(uri?: string): Promise<DriverIdentity | undefined> {
  const rawUri = uri ?? defaultURI();
  const { scheme, url } = driverSchemeOf(rawUri);
  if (!Object.hasOwn(IDENTITIES, scheme)) return undefined;
  return (await IDENTITIES[scheme]())(url, rawUri);
}
