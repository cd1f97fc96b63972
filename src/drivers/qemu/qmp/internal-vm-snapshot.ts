/**
 * Internal snapshots of the whole machine with QMP jobs: snapshot-save writes the vCPU,
 * RAM and device state into the first disk's qcow2 (vmstate) and an internal snapshot
 * with the same tag into every disk; snapshot-load goes back to it; snapshot-delete
 * removes it. QEMU stops the vCPUs itself for the save and resumes them afterwards. Job
 * failures are not QMP errors: QmpClient.runJob reads them from query-jobs.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { parseQueryBlock } from './active-chain.js';
import type { QmpClient } from './qmp-client.js';

/** The root (top) format node of each disk, in the order of `targets`. */
export async function diskTopNodes(qmp: QmpClient, targets: readonly string[]): Promise<{ target: string; node: string; file: string }[]> {
  const chains = parseQueryBlock(await qmp.execute('query-block'));
  return targets.map((target) => {
    const c = chains.find((x) => x.target === target);
    if (!c) throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `disk '${target}' is not attached to the running domain`);
    return { target, node: c.nodeName, file: c.file };
  });
}

let jobCounter = 0;

function jobId(kind: string): string {
  return `snapvirt-${kind}-${process.pid}-${++jobCounter}`;
}

/** Saves the machine under `tag`: vmstate into `vmstateNode`, disk snapshots into `devices`. */
export async function saveVmSnapshot(qmp: QmpClient, tag: string, vmstateNode: string, devices: readonly string[], timeoutMs = 600_000): Promise<void> {
  await qmp.runJob('snapshot-save', { 'job-id': jobId('save'), tag, vmstate: vmstateNode, devices: [...devices] }, { timeoutMs });
}

/** Loads the machine state and disks of `tag` (the vCPUs stay as they were: stopped or running). */
export async function loadVmSnapshot(qmp: QmpClient, tag: string, vmstateNode: string, devices: readonly string[], timeoutMs = 600_000): Promise<void> {
  await qmp.runJob('snapshot-load', { 'job-id': jobId('load'), tag, vmstate: vmstateNode, devices: [...devices] }, { timeoutMs });
}

/** Deletes `tag` from `devices`. */
export async function deleteVmSnapshot(qmp: QmpClient, tag: string, devices: readonly string[], timeoutMs = 600_000): Promise<void> {
  await qmp.runJob('snapshot-delete', { 'job-id': jobId('delete'), tag, devices: [...devices] }, { timeoutMs });
}
