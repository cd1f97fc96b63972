/**
 * What the QEMU driver says about itself (virConnectGetType, virConnectGetVersion), which
 * needs neither its store nor a QEMU process: `snapvirt version` answers from here without
 * opening the SQLite store and running recovery, as virsh's `version` needs only these.
 */
import { hostname } from 'node:os';
import type { DriverIdentity } from '../driver.js';
import { qemuUriKind, stateDirFor } from './catalog/qemu-paths.js';

/** QEMU 7.2.22, the version the tests run against, in virConnectGetVersion's encoding. */
export const QEMU_VERSION = 7_002_022;

/** The QEMU driver's identity for `uri`; refuses a URI the driver would refuse, with the same error. */
export function qemuIdentity(uri: URL, rawUri: string): DriverIdentity {
  stateDirFor(qemuUriKind(uri));
  return { type: 'QEMU', hypervisorVersion: QEMU_VERSION, uri: rawUri, hostname: hostname() };
}
