/**
 * libvirt's flag enums, with libvirt's names and exact values (libvirt-domain-snapshot.h
 * and libvirt-domain.h), each its own type: a call accepts only its own enum's flags, so
 * `dom.snapshotCreateXML(xml, SnapshotListFlags.TOPOLOGICAL)` does not compile.
 *
 * Combine flags with `|` (TypeScript types the result as a plain number, which every call
 * accepts, see {@link UntypedFlags}) or, to keep the enum's type and have the compiler
 * refuse a flag of another enum, with {@link combineFlags}.
 */

declare const flagEnum: unique symbol;

/**
 * A value of the libvirt flag enum named `Enum` (a number at run time, so libvirt's values
 * are kept; the brand exists only for the compiler).
 */
export type Flags<Enum extends string> = number & { readonly [flagEnum]: Enum };

/** Types each value of `values` as a flag of `Enum` (the values themselves are libvirt's). */
function flagEnumOf<Enum extends string, Names extends string>(_enum: Enum, values: Record<Names, number>): Readonly<Record<Names, Flags<Enum>>> {
  return Object.freeze(values) as Readonly<Record<Names, Flags<Enum>>>;
}

/**
 * A number that carries no enum: what TypeScript makes of `a | b` or of a literal. Every
 * call accepts it beside its own flag type, as libvirt's C API does; only a flag of
 * another enum is refused by the compiler. The call still refuses, at run time, bits it
 * does not support (VIR_ERR_INVALID_ARG, "unsupported flags").
 */
export type UntypedFlags = number & { readonly [flagEnum]?: never };

/**
 * ORs flags of one enum together, keeping their type:
 * `combineFlags(SnapshotCreateFlags.DISK_ONLY, SnapshotCreateFlags.ATOMIC)`. Flags of
 * different enums do not compile.
 */
export function combineFlags<Enum extends string>(first: Flags<Enum>, ...rest: NoInfer<Flags<Enum>>[]): Flags<Enum> {
  let all = first as number;
  for (const flag of rest) all |= flag;
  return all as Flags<Enum>;
}

/**
 * Types a number built elsewhere (a CLI's options, a value read from a file) as flags of
 * the enum `F`, unchecked: the call still refuses bits it does not support at run time
 * (VIR_ERR_INVALID_ARG, "unsupported flags").
 */
export function flagsFromNumber<F extends Flags<string>>(value: number): F {
  return value as F;
}

/** virDomainSnapshotCreateFlags: the flags of Domain.snapshotCreateXML. */
export const SnapshotCreateFlags = flagEnumOf('virDomainSnapshotCreateFlags', {
  REDEFINE: 0x1,
  CURRENT: 0x2,
  NO_METADATA: 0x4,
  HALT: 0x8,
  DISK_ONLY: 0x10,
  REUSE_EXT: 0x20,
  QUIESCE: 0x40,
  ATOMIC: 0x80,
  LIVE: 0x100,
  VALIDATE: 0x200,
});
/**
 * A flag (or flags, see combineFlags) of virDomainSnapshotCreateFlags.
 */
export type SnapshotCreateFlags = Flags<'virDomainSnapshotCreateFlags'>;

/** virDomainSnapshotXMLFlags: the flags of DomainSnapshot.getXMLDesc. */
export const SnapshotXMLFlags = flagEnumOf('virDomainSnapshotXMLFlags', {
  SECURE: 0x1,
});
/**
 * A flag (or flags, see combineFlags) of virDomainSnapshotXMLFlags.
 */
export type SnapshotXMLFlags = Flags<'virDomainSnapshotXMLFlags'>;

/**
 * virDomainSnapshotListFlags: the flags of Domain.listAllSnapshots, snapshotNum,
 * snapshotListNames and DomainSnapshot's children listings. DESCENDANTS shares ROOTS'
 * bit: it applies to children listings.
 */
export const SnapshotListFlags = flagEnumOf('virDomainSnapshotListFlags', {
  ROOTS: 0x1,
  DESCENDANTS: 0x1,
  METADATA: 0x2,
  LEAVES: 0x4,
  NO_LEAVES: 0x8,
  NO_METADATA: 0x10,
  INACTIVE: 0x20,
  ACTIVE: 0x40,
  DISK_ONLY: 0x80,
  INTERNAL: 0x100,
  EXTERNAL: 0x200,
  TOPOLOGICAL: 0x400,
});
/**
 * A flag (or flags, see combineFlags) of virDomainSnapshotListFlags.
 */
export type SnapshotListFlags = Flags<'virDomainSnapshotListFlags'>;

/** virDomainSnapshotRevertFlags: the flags of DomainSnapshot.revert and Domain.revertToSnapshot. */
export const SnapshotRevertFlags = flagEnumOf('virDomainSnapshotRevertFlags', {
  RUNNING: 0x1,
  PAUSED: 0x2,
  FORCE: 0x4,
  RESET_NVRAM: 0x8,
});
/**
 * A flag (or flags, see combineFlags) of virDomainSnapshotRevertFlags.
 */
export type SnapshotRevertFlags = Flags<'virDomainSnapshotRevertFlags'>;

/** virDomainSnapshotDeleteFlags: the flags of DomainSnapshot.delete. */
export const SnapshotDeleteFlags = flagEnumOf('virDomainSnapshotDeleteFlags', {
  CHILDREN: 0x1,
  METADATA_ONLY: 0x2,
  CHILDREN_ONLY: 0x4,
  /**
   * snapvirt's own (libvirt has no groups): a member's snapshot of a group snapshot is
   * deleted alone and leaves the group, which keeps its other members (a group left with
   * none is gone). Without it such a delete is refused. On a high bit, clear of libvirt's.
   */
  LEAVE_GROUP: 1 << 30,
});
/**
 * A flag (or flags, see combineFlags) of virDomainSnapshotDeleteFlags.
 */
export type SnapshotDeleteFlags = Flags<'virDomainSnapshotDeleteFlags'>;

/** virDomainXMLFlags: the flags of Domain.getXMLDesc. */
export const DomainXMLFlags = flagEnumOf('virDomainXMLFlags', {
  SECURE: 0x1,
  INACTIVE: 0x2,
  UPDATE_CPU: 0x4,
  MIGRATABLE: 0x8,
});
/**
 * A flag (or flags, see combineFlags) of virDomainXMLFlags.
 */
export type DomainXMLFlags = Flags<'virDomainXMLFlags'>;

/** virConnectListAllDomainsFlags: the flags of Connection.listAllDomains. */
export const ListDomainsFlags = flagEnumOf('virConnectListAllDomainsFlags', {
  ACTIVE: 1 << 0,
  INACTIVE: 1 << 1,
  PERSISTENT: 1 << 2,
  TRANSIENT: 1 << 3,
  RUNNING: 1 << 4,
  PAUSED: 1 << 5,
  SHUTOFF: 1 << 6,
  OTHER: 1 << 7,
  MANAGEDSAVE: 1 << 8,
  NO_MANAGEDSAVE: 1 << 9,
  AUTOSTART: 1 << 10,
  NO_AUTOSTART: 1 << 11,
  HAS_SNAPSHOT: 1 << 12,
  NO_SNAPSHOT: 1 << 13,
  HAS_CHECKPOINT: 1 << 14,
  NO_CHECKPOINT: 1 << 15,
});
/**
 * A flag (or flags, see combineFlags) of virConnectListAllDomainsFlags.
 */
export type ListDomainsFlags = Flags<'virConnectListAllDomainsFlags'>;

/** virDomainUndefineFlagsValues: the flags of Domain.undefine. */
export const DomainUndefineFlags = flagEnumOf('virDomainUndefineFlagsValues', {
  MANAGED_SAVE: 1 << 0,
  SNAPSHOTS_METADATA: 1 << 1,
  NVRAM: 1 << 2,
  KEEP_NVRAM: 1 << 3,
  CHECKPOINTS_METADATA: 1 << 4,
  TPM: 1 << 5,
  KEEP_TPM: 1 << 6,
});
/**
 * A flag (or flags, see combineFlags) of virDomainUndefineFlagsValues.
 */
export type DomainUndefineFlags = Flags<'virDomainUndefineFlagsValues'>;

/** Returns the names of the flags of `table` set in `flags`, for messages like libvirt's. */
export function flagNames(table: Record<string, number>, flags: number): string[] {
  return Object.entries(table).filter(([, bit]) => (flags & bit) !== 0).map(([name]) => name);
}

export {
  DomainState, RunningReason, PausedReason, ShutdownReason, ShutoffReason,
} from './domain-state.js';

/** virDomainBlockCommitFlags: the flags of Domain.blockCommit. */
export const BlockCommitFlags = flagEnumOf('virDomainBlockCommitFlags', {
  SHALLOW: 1 << 0,
  DELETE: 1 << 1,
  ACTIVE: 1 << 2,
  RELATIVE: 1 << 3,
  BANDWIDTH_BYTES: 1 << 4,
});
/** A flag (or flags, see combineFlags) of virDomainBlockCommitFlags. */
export type BlockCommitFlags = Flags<'virDomainBlockCommitFlags'>;

/** virDomainBlockRebaseFlags: the flags of Domain.blockRebase. */
export const BlockRebaseFlags = flagEnumOf('virDomainBlockRebaseFlags', {
  SHALLOW: 1 << 0,
  REUSE_EXT: 1 << 1,
  COPY_RAW: 1 << 2,
  COPY: 1 << 3,
  RELATIVE: 1 << 4,
  COPY_DEV: 1 << 5,
  BANDWIDTH_BYTES: 1 << 6,
});
/** A flag (or flags, see combineFlags) of virDomainBlockRebaseFlags. */
export type BlockRebaseFlags = Flags<'virDomainBlockRebaseFlags'>;

/** virDomainBlockPullFlags: the flags of Domain.blockPull. */
export const BlockPullFlags = flagEnumOf('virDomainBlockPullFlags', {
  BANDWIDTH_BYTES: 1 << 6,
});
/** A flag of virDomainBlockPullFlags. */
export type BlockPullFlags = Flags<'virDomainBlockPullFlags'>;

/** virDomainBlockJobAbortFlags: the flags of Domain.blockJobAbort. */
export const BlockJobAbortFlags = flagEnumOf('virDomainBlockJobAbortFlags', {
  ASYNC: 1 << 0,
  PIVOT: 1 << 1,
});
/** A flag (or flags, see combineFlags) of virDomainBlockJobAbortFlags. */
export type BlockJobAbortFlags = Flags<'virDomainBlockJobAbortFlags'>;

/** virDomainBlockJobInfoFlags: the flags of Domain.getBlockJobInfo. */
export const BlockJobInfoFlags = flagEnumOf('virDomainBlockJobInfoFlags', {
  BANDWIDTH_BYTES: 1 << 0,
});
/** A flag of virDomainBlockJobInfoFlags. */
export type BlockJobInfoFlags = Flags<'virDomainBlockJobInfoFlags'>;

/** virDomainBlockJobType: what kind of job a BlockJobInfo describes. */
export const BlockJobType = {
  UNKNOWN: 0,
  PULL: 1,
  COPY: 2,
  COMMIT: 3,
  ACTIVE_COMMIT: 4,
  BACKUP: 5,
} as const;
export type BlockJobType = (typeof BlockJobType)[keyof typeof BlockJobType];
