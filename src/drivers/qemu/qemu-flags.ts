/**
 * The flags each API call of the QEMU driver accepts, one row per call: libvirt's
 * virCheckFlags at the top of every qemuDomain* function ("unsupported flags (0x…) in
 * function qemuDomain…", VIR_ERR_INVALID_ARG, worded by ../flag-rule.ts).
 */
import { VirErrorCode, VirErrorDomain, virError } from '../../api/errors.js';
import {
  BlockCommitFlags as BC, BlockJobAbortFlags as BJA, BlockJobInfoFlags as BJI, BlockPullFlags as BP, BlockRebaseFlags as BR,
  DomainUndefineFlags as U, SnapshotCreateFlags as C, SnapshotDeleteFlags as D, SnapshotListFlags as L,
  SnapshotRevertFlags as R,
} from '../../api/flags.js';
import { SNAPSHOT_LIST_FLAGS_ALL } from '../../snapshot/list-filter.js';
import { unsupportedFlagsDetail, type FlagRule } from '../flag-rule.js';
import { SNAPSHOT_CHECK_REPAIR } from '../snapshot-check-report.js';

/** VIR_DOMAIN_START_PAUSED, _AUTODESTROY, _VALIDATE: what virDomainCreateXML takes. */
export const CREATE_XML_FLAGS = (1 << 0) | (1 << 1) | (1 << 4);

/** The QEMU driver's API calls and the flags each accepts. */
export const QEMU_FLAGS = {
  defineXML: { fn: 'qemuDomainDefineXMLFlags', allowed: 0x1 /* VIR_DOMAIN_DEFINE_VALIDATE */ },
  createXML: { fn: 'qemuDomainCreateXML', allowed: CREATE_XML_FLAGS },
  undefine: {
    fn: 'qemuDomainUndefineFlags',
    allowed: U.MANAGED_SAVE | U.SNAPSHOTS_METADATA | U.NVRAM | U.KEEP_NVRAM | U.CHECKPOINTS_METADATA | U.TPM | U.KEEP_TPM,
  },
  createWithFlags: { fn: 'qemuDomainCreateWithFlags', allowed: 0x1 /* VIR_DOMAIN_START_PAUSED */ | 0x20 /* RESET_NVRAM */ },
  destroy: { fn: 'qemuDomainDestroyFlags', allowed: 0x1 /* GRACEFUL */ | 0x2 /* REMOVE_LOGS */ },
  reboot: { fn: 'qemuDomainReboot', allowed: 0x1 /* ACPI_POWER_BTN */ | 0x2 /* GUEST_AGENT */ },
  reset: { fn: 'qemuDomainReset', allowed: 0 },
  rename: { fn: 'qemuDomainRename', allowed: 0 },
  getXMLDesc: { fn: 'qemuDomainGetXMLDesc', allowed: 0xf },
  monitorCommand: { fn: 'qemuDomainQemuMonitorCommandWithFiles', allowed: 0x1 /* VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP */ },
  snapshotCreateXML: {
    fn: 'qemuDomainSnapshotCreateXML',
    allowed: C.REDEFINE | C.CURRENT | C.NO_METADATA | C.HALT | C.DISK_ONLY | C.REUSE_EXT | C.QUIESCE | C.ATOMIC | C.LIVE | C.VALIDATE,
  },
  snapshotListAll: { fn: 'qemuDomainListAllSnapshots', allowed: SNAPSHOT_LIST_FLAGS_ALL },
  snapshotListAllChildren: { fn: 'qemuDomainSnapshotListAllChildren', allowed: SNAPSHOT_LIST_FLAGS_ALL & ~L.ROOTS | L.DESCENDANTS },
  snapshotGetXMLDesc: { fn: 'qemuDomainSnapshotGetXMLDesc', allowed: 0x1 /* VIR_DOMAIN_SNAPSHOT_XML_SECURE */ },
  revertToSnapshot: { fn: 'qemuDomainRevertToSnapshot', allowed: R.RUNNING | R.PAUSED | R.FORCE | R.RESET_NVRAM },
  snapshotDelete: { fn: 'qemuDomainSnapshotDelete', allowed: D.CHILDREN | D.METADATA_ONLY | D.CHILDREN_ONLY | D.LEAVE_GROUP },
  snapshotCheck: { fn: 'qemuDomainSnapshotCheck', allowed: SNAPSHOT_CHECK_REPAIR },
  getJobStats: { fn: 'qemuDomainGetJobStats', allowed: 0x1 /* COMPLETED */ | 0x2 /* KEEP_COMPLETED */ },
  blockCommit: {
    fn: 'qemuDomainBlockCommit',
    allowed: BC.SHALLOW | BC.ACTIVE | BC.RELATIVE | BC.DELETE | BC.BANDWIDTH_BYTES,
  },
  blockPull: { fn: 'qemuDomainBlockPull', allowed: BP.BANDWIDTH_BYTES },
  blockRebase: {
    fn: 'qemuDomainBlockRebase',
    allowed: BR.SHALLOW | BR.REUSE_EXT | BR.COPY | BR.COPY_RAW | BR.RELATIVE | BR.COPY_DEV | BR.BANDWIDTH_BYTES,
  },
  getBlockJobInfo: { fn: 'qemuDomainGetBlockJobInfo', allowed: BJI.BANDWIDTH_BYTES },
  blockJobAbort: { fn: 'qemuDomainBlockJobAbort', allowed: BJA.ASYNC | BJA.PIVOT },
  getBlockInfo: { fn: 'qemuDomainGetBlockInfo', allowed: 0 },
} as const satisfies Record<string, FlagRule>;

/** Refuses flags the QEMU driver's `call` does not know (VIR_ERR_INVALID_ARG, nothing done). */
export function checkQemuFlags(flags: number, call: keyof typeof QEMU_FLAGS): void {
  const detail = unsupportedFlagsDetail(flags, QEMU_FLAGS[call]);
  if (detail !== undefined) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.QEMU, detail);
}
