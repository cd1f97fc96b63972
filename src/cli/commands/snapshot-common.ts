/**
 * Pieces shared by the snapshot-* commands (tools/virsh-snapshot.c): the common options,
 * resolving `{--snapshotname NAME | --current}`, and creating a snapshot with virsh's
 * messages and its `--halt` emulation.
 */
import type { Domain } from '../../api/domain.js';
import type { DomainSnapshot } from '../../api/domain-snapshot.js';
import { isVirError, VirErrorCode } from '../../api/errors.js';
import { SnapshotCreateFlags } from '../../api/flags.js';
import type { OptionDef, ParsedCommand } from '../command-def.js';
import type { Control } from '../control.js';
import { CommandAborted, optBool, optString } from '../option-values.js';

/** VIRSH_COMMON_OPT_DOMAIN_FULL. */
export const DOMAIN_OPTION: OptionDef = { name: 'domain', type: 'data', required: true, help: 'domain name, id or uuid' };

/** VIRSH_COMMON_OPT_CURRENT(help). */
export function currentOption(help: string): OptionDef {
  return { name: 'current', type: 'bool', help };
}

/** Prints a libvirt error now (vshReportError inside a handler) and aborts the command. */
export function reportAndAbort(ctl: Control, err: unknown): never {
  if (isVirError(err)) ctl.error(err.message);
  else throw err;
  throw new CommandAborted();
}

/**
 * virshLookupSnapshot: the snapshot named by option `arg`, or the current one with
 * --current. `exclusive` refuses both together.
 */
export async function lookupSnapshot(
  ctl: Control, cmd: ParsedCommand, arg: string, exclusive: boolean, dom: Domain,
): Promise<DomainSnapshot> {
  const current = optBool(cmd, 'current');
  const name = optString(ctl, cmd, arg);
  if (exclusive && current && name !== undefined) {
    ctl.error(`--${arg} and --current are mutually exclusive`);
    throw new CommandAborted();
  }
  try {
    if (name !== undefined) return await dom.snapshotLookupByName(name);
    if (current) return await dom.snapshotCurrent();
  } catch (err) {
    reportAndAbort(ctl, err);
  }
  ctl.error(`--${arg} or --current is required`);
  throw new CommandAborted();
}

/**
 * virshSnapshotCreate: creates from `xml`; when the server refuses HALT as an invalid
 * argument, retries without it and destroys the domain afterwards, as virsh emulates
 * --halt for older servers.
 */
export async function createSnapshot(
  ctl: Control, dom: Domain, xml: string, flags: number, from: string | undefined,
): Promise<boolean> {
  let snapshot: DomainSnapshot;
  let halt = false;
  try {
    snapshot = await dom.snapshotCreateXML(xml, flags);
  } catch (err) {
    if (!(isVirError(err, VirErrorCode.INVALID_ARG) && (flags & SnapshotCreateFlags.HALT))) throw err;
    let persistent: boolean;
    try {
      persistent = await dom.isPersistent();
    } catch (lookupErr) {
      reportAndAbort(ctl, lookupErr);
    }
    if (!persistent) {
      ctl.error('cannot halt after snapshot of transient domain');
      return false;
    }
    if (await dom.isActive().catch(() => false)) halt = true;
    snapshot = await dom.snapshotCreateXML(xml, flags & ~SnapshotCreateFlags.HALT);
  }
  if (halt) {
    try {
      await dom.destroy();
    } catch (err) {
      reportAndAbort(ctl, err);
    }
  }
  const name = snapshot.getName();
  if (from !== undefined) ctl.printExtra(`Domain snapshot ${name} created from '${from}'`);
  else ctl.printExtra(`Domain snapshot ${name} created`);
  return true;
}

/**
 * virshGetSnapshotParent: the parent's name, or undefined for a root. Other failures
 * print libvirt's error and `unable to determine if snapshot has parent`.
 */
export async function snapshotParentName(ctl: Control, snapshot: DomainSnapshot): Promise<string | undefined> {
  try {
    return (await snapshot.getParent()).getName();
  } catch (err) {
    if (isVirError(err, VirErrorCode.NO_DOMAIN_SNAPSHOT)) return undefined;
    if (isVirError(err)) ctl.error(err.message);
    ctl.error('unable to determine if snapshot has parent');
    throw new CommandAborted();
  }
}
