/**
 * snapshot-check for QEMU domains (snapvirt's own call, beyond libvirt): compares the
 * snapshot metadata with the disks and the running QEMU and reports every inconsistency
 * and stray file; with REPAIR it re-runs recovery and removes only what is provably safe
 * (snapshot-check-repair.ts). It holds the domain's lock throughout, so it never sees an
 * operation of another process half-done; it does not recover without REPAIR (a plain
 * check changes nothing), so an interrupted operation is reported, not finished.
 */
import { dirname, resolve } from 'node:path';
import { checkSnapshotTree } from '../../../snapshot/tree-check.js';
import {
  acquireDomainLock, isCommittedEntry, openEntries, recoverDomain, type JournalEntry, type TxnContext,
} from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import {
  checkReport, SNAPSHOT_CHECK_REPAIR, type SnapshotCheckFinding, type SnapshotCheckReport,
} from '../../snapshot-check-report.js';
import { readOfflineDomainState } from '../catalog/domain-state.js';
import { liveDef, liveRuntime } from '../domain/active-domains.js';
import { loadDomain, loadTree } from '../catalog/snapshot-catalog.js';
import { checkDisks, checkMode, checkUnreferencedTags, FindingList, type CheckedDomain } from './snapshot-check-disks.js';
import { ImageInspector } from './snapshot-check-images.js';
import { runRepair, unrepairedBecause, type RepairPlan } from './snapshot-check-repair.js';
import { checkRunningGraph } from './snapshot-check-active.js';
import {
  filesOfOpenEntries, findStrayFiles, findTemporaryFiles, neededFiles, referencesInStore,
} from './snapshot-check-strays.js';
import { pathExists } from '../images/path-exists.js';
import { temporaryTagsInJournal } from './snapshot-check-temporary-tags.js';
import { otherUsersOf, usersText } from '../images/image-users.js';
import { checkQemuFlags } from '../qemu-flags.js';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The finding for an interrupted operation whose journal entry is still open. */
function openEntryFinding(e: JournalEntry): SnapshotCheckFinding {
  const snapshot = typeof e.intent === 'object' && e.intent !== null && !Array.isArray(e.intent) && typeof e.intent.snapshot === 'string'
    ? ` of snapshot '${e.intent.snapshot}'` : '';
  if (isCommittedEntry(e)) {
    return {
      kind: 'journal-open', subject: `journal:${e.id}`, repairable: true,
      message: `journal entry ${e.id}: the post-commit work of the ${e.kind}${snapshot} started at ${e.createdAt} has not finished${e.error ? ` (${e.error})` : ''}; ` +
        `the ${e.kind} itself is done; operations on its images are refused until that work finishes (it is retried before every operation on the domain)`,
    };
  }
  return {
    kind: 'journal-open', subject: `journal:${e.id}`, repairable: true,
    message: `journal entry ${e.id}: the ${e.kind}${snapshot} started at ${e.createdAt} was interrupted (phase ${e.phase}) and is not recovered${e.error ? ` (${e.error})` : ''}; every change to this domain is refused until it is`,
  };
}

/** What one scan found, and what a repair may remove. */
interface Scan {
  findings: SnapshotCheckFinding[];
  plan: RepairPlan;
}

/** Compares everything about domain `dom`; the caller holds its lock. */
async function scanDomain(ctx: TxnContext, dom: DomainRef): Promise<Scan> {
  const { store } = ctx;
  const { record, def } = loadDomain(store, dom);
  const rt = await liveRuntime(ctx, record.uuid);
  const checked: CheckedDomain = {
    uuid: record.uuid,
    name: record.name,
    persistent: def,
    live: rt ? liveDef(ctx, dom) : undefined,
    tree: loadTree(store, record.uuid),
    createdImages: new Set(readOfflineDomainState(store, record.uuid).createdImages.map((p) => resolve(p))),
  };
  const findings = new FindingList();
  for (const p of checkSnapshotTree(checked.tree)) findings.add({ kind: 'tree', subject: p.snapshot, message: p.message, repairable: false });

  const images = new ImageInspector();
  const expectedTags = await checkDisks(checked, images, findings);
  const present: string[] = [];
  for (const path of [...checked.createdImages].sort()) {
    if (!(await pathExists(path))) continue;
    present.push(path);
    await checkMode(path, findings);
  }
  for (const [path, names] of await otherUsersOf(store, record.uuid, present)) {
    findings.add({
      kind: 'shared-image', subject: path, repairable: false,
      message: `file '${path}' was created by snapvirt for this domain, and ${usersText(names)} too; no operation of this domain discards it while another domain reaches it`,
    });
  }
  const busy = rt && checked.live ? await checkRunningGraph(rt.runtimeDir, checked.live, images, findings) : new Set<string>();

  const refs = referencesInStore(store);
  const owned = filesOfOpenEntries(store);
  const tags = checkUnreferencedTags(images, expectedTags, refs.tags, owned.tagNames, busy, temporaryTagsInJournal(store), findings);
  const needed = await neededFiles(store, refs.files);
  const dirs = new Set([...refs.files].map((p) => dirname(p)));
  const files = await findStrayFiles(store, checked, new Set([...needed, ...owned.files]), dirs, busy, findings);
  const temporary = await findTemporaryFiles(store.stateDir, record.uuid, findings);
  return {
    findings: findings.all(),
    plan: { files: [...files, ...temporary.map((path) => ({ path, listed: false }))], tags },
  };
}

/** virDomainSnapshotCheck-like entry point of the QEMU driver (flags: SNAPSHOT_CHECK_REPAIR). */
export async function checkQemuSnapshots(ctx: TxnContext, dom: DomainRef, flags: number): Promise<SnapshotCheckReport> {
  checkQemuFlags(flags, 'snapshotCheck');
  const repair = (flags & SNAPSHOT_CHECK_REPAIR) !== 0;
  const { record } = loadDomain(ctx.store, dom);
  const lock = await acquireDomainLock(ctx.lockDir, record.uuid, repair ? 'snapshot-check --repair' : 'snapshot-check',
    ctx.lockTimeoutMs === undefined ? {} : { timeoutMs: ctx.lockTimeoutMs });
  try {
    const open = openEntries(ctx.store, record.uuid);
    if (!repair) {
      const scan = await scanDomain(ctx, dom);
      return checkReport(record.name, false, [...open.map(openEntryFinding), ...scan.findings]);
    }
    let recovered: SnapshotCheckFinding[] = [];
    if (open.length > 0) {
      try {
        const reports = await recoverDomain(ctx, lock);
        recovered = open.map((e) => {
          const report = reports.find((r) => r.id === e.id);
          const action = report?.action;
          if (action === 'failed') {
            return { ...openEntryFinding(e), repair: { done: false, detail: `retried, and it failed again: ${message(report?.error)}` } };
          }
          const how = action === 'forward' ? 'rolled it forward' : action === 'finalize' ? 'finished its post-commit work' : 'rolled it back';
          return { ...openEntryFinding(e), repair: { done: true, detail: `recovery ${how}` } };
        });
      } catch (err) {
        // Nothing else may change on a domain whose interrupted operation is unfinished.
        const scan = await scanDomain(ctx, dom);
        const why = `the interrupted operation must be recovered first: ${message(err)}`;
        return checkReport(record.name, true, [
          ...open.map((e) => ({ ...openEntryFinding(e), repair: { done: false, detail: `recovery failed: ${message(err)}` } })),
          ...scan.findings.map((f) => ({ ...f, repair: { done: false, detail: f.repairable ? why : f.reason ?? unrepairedBecause(f) } })),
        ]);
      }
    }
    // Scanned after recovery: what recovery fixed is no longer a finding.
    const scan = await scanDomain(ctx, dom);
    const findings = await runRepair(ctx, lock, { uuid: record.uuid, name: record.name }, scan.plan, scan.findings);
    return checkReport(record.name, true, [...recovered, ...findings]);
  } finally {
    lock.release();
  }
}
