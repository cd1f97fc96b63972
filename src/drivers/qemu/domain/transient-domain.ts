/**
 * Transient QEMU domains, with libvirt's semantics: virDomainCreateXML starts a domain
 * from XML without defining it; it is listed while it runs and vanishes when it stops
 * (destroy, a guest power-off, a QEMU that died), with its snapshot metadata. Undefining
 * a running persistent domain makes it transient; defining a running transient domain's
 * XML makes it persistent again (qemu-driver.ts, domainDefineXML).
 *
 * In the store a transient domain is a row with `persistent = 0`, no persistent XML and
 * its one definition in `live_xml` (the schema has allowed this from the start, so old
 * state directories need no migration). create runs on the txn engine: journal, one step
 * that starts QEMU (undo: kill it), then one SQLite commit that records the domain. A
 * crash before the commit leaves an open entry whose rollback kills the QEMU: there is
 * never a QEMU without its record, nor a record without its QEMU.
 *
 * With VIR_DOMAIN_START_AUTODESTROY the domain belongs to the creating connection: it is
 * destroyed when that connection closes, as libvirtd does. libvirtd also notices a client
 * that crashed; here the owner's pid (and boot id) is recorded with the runtime, and a
 * domain whose owner is gone is destroyed by the next process that looks it up.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { ShutoffReason } from '../../../api/flags.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import type { Store } from '../../../store/index.js';
import {
  currentBootId, declareOperationKind, isHolderDead, lockDomain, recoverDomain, resourceString, runOperation,
  tryAcquireDomainLock, type TxnContext,
} from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import { isQemuRunningIn, terminateQemuIn } from './qemu-process.js';
import { forgetMonitor } from '../qmp/domain-monitor.js';
import { forgetShutoffReason, forgetStoppedTransient, launchQemu, liveRuntime, stopDomainLocked } from './active-domains.js';
import { formatRuntime, parseRuntime, runtimeDirFor, runtimeOf, type DomainRuntime } from './active-runtime.js';
import { domainRecordXml } from '../catalog/snapshot-catalog.js';
import { checkQemuFlags } from '../qemu-flags.js';

/** The operation kind of virDomainCreateXML. */
export const DOMAIN_CREATE = 'domain-create';
/** Resource: a QEMU process started for a domain that is not recorded yet. */
export const QEMU_PROCESS = 'qemu-process';

declareOperationKind(DOMAIN_CREATE);

/** virDomainCreateFlags */
const START_PAUSED = 1 << 0;
const START_AUTODESTROY = 1 << 1;

/** The autodestroy domains each connection (txn context) created, by UUID. */
const ownedAutodestroy = new WeakMap<TxnContext, Set<string>>();

function ownedBy(ctx: TxnContext): Set<string> {
  let set = ownedAutodestroy.get(ctx);
  if (!set) ownedAutodestroy.set(ctx, (set = new Set()));
  return set;
}

/** Registers the create operation's resource handler on a driver's txn context (before recovery). */
export function registerTransientHandlers(ctx: TxnContext): void {
  ctx.registry.registerResource(QEMU_PROCESS, {
    async undo(r) {
      const runtimeDir = resourceString(r, 'runtimeDir');
      const uuid = resourceString(r, 'domainUuid');
      // Recorded as the domain's QEMU, it is not a leftover of this create (defensive:
      // an open create entry means its commit, which records it, did not happen).
      if (parseRuntime(ctx.store.domains.get(uuid)?.runtime ?? null)?.runtimeDir === runtimeDir) return;
      forgetMonitor(runtimeDir);
      await terminateQemuIn(runtimeDir, 0);
    },
  });
}

/**
 * virDomainObjListAdd's checks, in its order and with its messages: the same UUID under
 * another name, then the same name with another UUID. Returns the domain with this
 * name and UUID, if there is one.
 */
export function checkNameAndUuid(store: Store, def: DomainDef): { uuid: string; persistent: boolean } | undefined {
  const byUuid = store.domains.get(def.uuid);
  if (byUuid) {
    if (byUuid.name !== def.name) {
      throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN,
        `domain '${byUuid.name}' is already defined with uuid ${byUuid.uuid}`);
    }
    return { uuid: byUuid.uuid, persistent: byUuid.persistent };
  }
  const byName = store.domains.getByName(def.name);
  if (byName) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN,
      `domain '${byName.name}' already exists with uuid ${byName.uuid}`);
  }
  return undefined;
}

/**
 * Forgets the transient domains that hold `def`'s name or UUID but stopped (their QEMU
 * died and nothing looked at them since): libvirt forgot them when they stopped, so a new
 * create or define may take their name. Call before checkNameAndUuid, without the lock.
 */
export async function forgetVanishedNamesakes(ctx: TxnContext, def: DomainDef): Promise<void> {
  for (const rec of [ctx.store.domains.getByName(def.name), ctx.store.domains.get(def.uuid)]) {
    if (rec && !rec.persistent) await domainVanished(ctx, rec.uuid);
  }
}

/**
 * virDomainCreateXML for a checked definition: a new transient domain, started; or, for
 * the XML of a persistent domain that is shut off, that domain started with `def` as its
 * live definition (libvirt's behaviour: it stays persistent).
 */
export async function createDomainFromDef(ctx: TxnContext, def: DomainDef, flags: number): Promise<DomainRef> {
  checkQemuFlags(flags, 'createXML');
  const { store } = ctx;
  await forgetVanishedNamesakes(ctx, def);
  checkNameAndUuid(store, def);
  const paused = (flags & START_PAUSED) !== 0;
  const rt = await lockDomain(ctx, def.uuid, 'create', async (lock) => {
    // Re-checked under the lock: another process may have created or started it meanwhile.
    let existing = checkNameAndUuid(store, def);
    if (existing && await liveRuntime(ctx, existing.uuid)) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN, `domain '${def.name}' is already active`);
    }
    // A transient namesake that stopped since the check is gone now (we hold its lock).
    if (existing && !existing.persistent && forgetStoppedTransient(ctx, existing.uuid)) existing = undefined;
    const runtimeDir = runtimeDirFor(store.stateDir, def.uuid);
    let started: DomainRuntime | undefined;
    await runOperation(ctx, lock, {
      kind: DOMAIN_CREATE,
      domain: { uuid: def.uuid, name: def.name },
      intent: { runtimeDir, transient: !existing },
      steps: [{
        name: 'qemu.start',
        resources: [{ kind: QEMU_PROCESS, runtimeDir, domainUuid: def.uuid }],
        async do() {
          started = await launchQemu(ctx, def.uuid, def, { paused });
          if (flags & START_AUTODESTROY) started.autodestroyOwner = { pid: process.pid, bootId: currentBootId() };
        },
      }],
      commit(s) {
        // Unreachable (the step ran before the commit); thrown inside the commit, it rolls back.
        if (!started) throw new Error('QEMU was not started');
        const runtime = formatRuntime(started);
        const liveXml = domainRecordXml(def);
        // A namesake recorded by another process since the check loses the race here, in
        // the commit: the rollback then stops our QEMU.
        if (checkNameAndUuid(s, def)) s.domains.update(def.uuid, { runtime, liveXml });
        else s.domains.insert({ uuid: def.uuid, name: def.name, persistentXml: null, liveXml, persistent: false, autostart: false, runtime });
      },
    });
    return started!;
  });
  forgetShutoffReason(ctx, def.uuid);
  if (flags & START_AUTODESTROY) ownedBy(ctx).add(def.uuid);
  return { uuid: def.uuid, name: def.name, id: rt.id };
}

/**
 * Destroys domain `uuid` if it is still the autodestroy domain of the QEMU recorded now
 * (a revert restarts QEMU without the flag, as libvirt's does); a transient one then
 * vanishes. The caller holds the lock.
 */
async function destroyAutodestroyLocked(ctx: TxnContext, uuid: string, owner: (o: { pid: number; bootId: string }) => boolean): Promise<void> {
  const rec = ctx.store.domains.get(uuid);
  const rt = runtimeOf(ctx.store, uuid);
  if (!rec || !rt?.autodestroyOwner || !owner(rt.autodestroyOwner)) return;
  await stopDomainLocked(ctx, { uuid, name: rec.name, id: rt.id }, ShutoffReason.DESTROYED);
  forgetStoppedTransient(ctx, uuid);
}

/** Closing a connection: the autodestroy domains it created are destroyed (virConnectClose). */
export async function destroyAutodestroyDomains(ctx: TxnContext): Promise<void> {
  const owned = ownedBy(ctx);
  for (const uuid of owned) {
    try {
      await lockDomain(ctx, uuid, 'autodestroy', () => destroyAutodestroyLocked(ctx, uuid, (o) => o.pid === process.pid));
    } catch (err) {
      ctx.warn(`cannot destroy autodestroy domain ${uuid}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  owned.clear();
}

/** True when an autodestroy owner can no longer be running (its process is gone, or another boot). */
function ownerGone(owner: { pid: number; bootId: string }): boolean {
  return isHolderDead({ ...owner, operation: 'create', since: '' });
}

/**
 * virDomainUndefineFlags of a running persistent domain: it becomes transient and keeps
 * running; its snapshot metadata stays until it stops (libvirt checks the snapshot count
 * only for inactive domains). The caller holds the lock.
 */
export function makeTransient(store: Store, uuid: string): void {
  store.transaction(() => {
    const rec = store.domains.get(uuid);
    if (!rec) return;
    store.domains.update(uuid, {
      persistent: false, persistentXml: null, autostart: false, liveXml: rec.liveXml ?? rec.persistentXml,
    });
  });
}

/**
 * For lookups and listings: true when domain `uuid` no longer exists. Noticed here: a
 * transient domain whose QEMU died (forgotten), and an autodestroy domain whose owner
 * process is gone (destroyed; forgotten if transient). A domain whose lock another
 * operation holds (a revert restarting its QEMU) still exists.
 */
export async function domainVanished(ctx: TxnContext, uuid: string): Promise<boolean> {
  const rec = ctx.store.domains.get(uuid);
  if (!rec) return true;
  const rt = parseRuntime(rec.runtime);
  const abandoned = rt?.autodestroyOwner !== undefined && ownerGone(rt.autodestroyOwner);
  if (rec.persistent && !abandoned) return false;
  if (!abandoned && rt && await isQemuRunningIn(rt.runtimeDir)) return false;
  const lock = tryAcquireDomainLock(ctx.lockDir, uuid, 'transient-cleanup');
  if (!lock) return false;
  try {
    // An operation a crash interrupted is finished first: it may need the record.
    await recoverDomain(ctx, lock);
    await destroyAutodestroyLocked(ctx, uuid, ownerGone);
    if (await liveRuntime(ctx, uuid)) return false;
    forgetStoppedTransient(ctx, uuid);
    return ctx.store.domains.get(uuid) === undefined;
  } catch (err) {
    ctx.warn(`cannot forget stopped transient domain '${rec.name}': ${err instanceof Error ? err.message : String(err)}`);
    return false;
  } finally {
    lock.release();
  }
}
