/**
 * The libvirt API function behind procedures snapvirtd does not serve, for the error a
 * libvirt driver without that function gives ("this function is not supported by the
 * connection driver: virNodeGetInfo"): the procedures virsh's and libvirt-python's common
 * calls reach. A procedure missing here is named by its number instead.
 */
import { VirErrorDomain } from '../api/errors.js';

/** REMOTE program procedure number → libvirt API function. */
export const UNSERVED_REMOTE_FUNCTIONS: Readonly<Record<number, string>> = {
  5: 'virConnectGetMaxVcpus',
  6: 'virNodeGetInfo',
  7: 'virConnectGetCapabilities',
  8: 'virDomainAttachDevice',
  13: 'virDomainDetachDevice',
  18: 'virDomainGetMaxVcpus',
  20: 'virDomainGetVcpus',
  30: 'virDomainSetMaxMemory',
  31: 'virDomainSetMemory',
  32: 'virDomainSetVcpus',
  53: 'virDomainCoreDump',
  54: 'virDomainRestore',
  55: 'virDomainSave',
  64: 'virDomainBlockStats',
  65: 'virDomainInterfaceStats',
  101: 'virNodeGetCellsFreeMemory',
  102: 'virNodeGetFreeMemory',
  159: 'virDomainMemoryStats',
  160: 'virDomainAttachDeviceFlags',
  161: 'virDomainDetachDeviceFlags',
  174: 'virDomainUpdateDeviceFlags',
  182: 'virDomainManagedSave',
  184: 'virDomainManagedSaveRemove',
  199: 'virDomainSetVcpusFlags',
  200: 'virDomainGetVcpusFlags',
  201: 'virDomainOpenConsole',
  203: 'virConnectGetSysinfo',
  204: 'virDomainSetMemoryFlags',
  211: 'virDomainScreenshot',
  227: 'virNodeGetCPUStats',
  228: 'virNodeGetMemoryStats',
  232: 'virDomainSaveFlags',
  233: 'virDomainRestoreFlags',
  243: 'virDomainBlockStatsFlags',
  251: 'virDomainBlockResize',
  337: 'virDomainGetTime',
  338: 'virDomainSetTime',
  342: 'virConnectGetDomainCapabilities',
  345: 'virDomainBlockCopy',
  349: 'virDomainGetFSInfo',
  353: 'virDomainInterfaceAddresses',
};

/** QEMU program procedure number → libvirt API function. */
export const UNSERVED_QEMU_FUNCTIONS: Readonly<Record<number, string>> = {
  3: 'virDomainQemuAgentCommand',
  7: 'virDomainQemuMonitorCommandWithFiles',
};

/**
 * The error subsystem libvirt reports a missing driver function from: the public API file
 * the function lives in (measured with python3-libvirt on libvirt 9.0's test driver:
 * virNodeGetMemoryStats and virDomainBlockCommit report VIR_FROM_DOMAIN, libvirt-qemu's
 * functions VIR_FROM_NONE).
 */
export function unservedErrorDomain(programName: string): VirErrorDomain {
  return programName === 'QEMU' ? VirErrorDomain.NONE : VirErrorDomain.DOMAIN;
}
