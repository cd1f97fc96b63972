/**
 * `snapshot-check --repair`: removes what the check proved safe to remove (stray overlays
 * that hold nothing of their own, temporary revert tags nothing needs, temporary files of
 * dead processes) as one journaled operation on src/txn's engine, so a crash during the
 * repair is itself recovered: before the commit point nothing was removed (the next check
 * reports the same findings); after it, recovery finishes the removals on the next open.
 * Failpoints: `check-repair.<phase>` (journal, prepare.step, commit, finalize, undo).
 */
import { declareOperationKind, runOperation, type DomainLock, type Resource, type TxnContext } from '../../../txn/index.js';
import type { SnapshotCheckFinding } from '../../snapshot-check-report.js';
import { updateOfflineDomainState } from '../catalog/domain-state.js';
import { listSnapshotTags } from '../images/qemu-img.js';
import type { RemovableFile } from './snapshot-check-strays.js';
import { pathExists } from '../images/path-exists.js';

/** The txn operation kind of a repair. */
export const CHECK_REPAIR = 'check-repair';
declareOperationKind(CHECK_REPAIR);

/** What a repair removes. */
export interface RepairPlan {
  files: RemovableFile[];
  tags: Array<{ image: string; tag: string }>;
}

async function tagExists(image: string, tag: string): Promise<boolean> {
  if (!(await pathExists(image))) return false;
  return (await listSnapshotTags(image, { forceShare: true })).includes(tag);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs the removals of `plan` under the held `lock`, then returns `findings` with each
 * planned one marked repaired, or not repaired with the reason.
 */
export async function runRepair(
  ctx: TxnContext, lock: DomainLock, domain: { uuid: string; name: string }, plan: RepairPlan,
  findings: SnapshotCheckFinding[],
): Promise<SnapshotCheckFinding[]> {
  const done = new Map<string, { done: boolean; detail: string }>();
  if (plan.files.length + plan.tags.length > 0) {
    // Removals are post-commit work (file-obsolete, qemu-removed-tag): before the commit
    // point nothing is touched, and after it recovery keeps removing until all are gone.
    const resources: Resource[] = [
      ...plan.files.map((f): Resource => ({ kind: 'file-obsolete', path: f.path })),
      ...plan.tags.map((t): Resource => ({ kind: 'qemu-removed-tag', image: t.image, tag: t.tag })),
    ];
    const listed = plan.files.filter((f) => f.listed).map((f) => f.path);
    let failure: string | undefined;
    try {
      await runOperation(ctx, lock, {
        kind: CHECK_REPAIR,
        domain,
        intent: { files: plan.files.map((f) => f.path), tags: plan.tags.map((t) => `${t.image}:${t.tag}`) },
        steps: [],
        commit: (store) => {
          if (listed.length > 0) updateOfflineDomainState(store, domain.uuid, { forgotten: listed });
        },
        finalize: resources,
      });
    } catch (err) {
      failure = `the repair failed, and nothing was removed: ${message(err)}`;
    }
    for (const f of plan.files) {
      const gone = failure === undefined && !(await pathExists(f.path));
      done.set(f.path, gone ? { done: true, detail: 'removed the file' } : { done: false, detail: failure ?? 'the removal did not finish; recovery finishes it on the next open' });
    }
    for (const t of plan.tags) {
      const gone = failure === undefined && !(await tagExists(t.image, t.tag));
      done.set(`${t.image}:${t.tag}`, gone ? { done: true, detail: 'deleted the tag' } : { done: false, detail: failure ?? 'the deletion did not finish; recovery finishes it on the next open' });
    }
  }
  return findings.map((f) => (f.repair ? f : { ...f, repair: done.get(f.subject) ?? { done: false, detail: f.reason ?? unrepairedBecause(f) } }));
}

/** Why a finding of this kind is never repaired: only the user can know what is right. */
export function unrepairedBecause(f: SnapshotCheckFinding): string {
  switch (f.kind) {
    case 'image-missing':
      return 'snapvirt cannot recreate lost data; restore the file from a backup, or delete the snapshots that need it with --metadata';
    case 'image-unreadable':
      return 'the file is damaged or not in the expected format; inspect it with qemu-img check';
    case 'backing-mismatch':
      return 'which backing file holds the right data cannot be proven; change it (qemu-img rebase -u) only if you know it does';
    case 'file-mode':
      return 'a looser mode may be deliberate; run chmod 600 on the file if it is not';
    case 'tag-missing':
      return "the snapshot's data for this disk is gone; delete the snapshot with --metadata if you no longer need it";
    case 'tag-unreferenced':
      return 'it may be yours (made with --no-metadata); delete it with qemu-img snapshot -d if you do not need it';
    case 'tree':
      return 'only you can tell which parent is right; fix it with snapshot-create --redefine';
    case 'qemu-graph':
      return 'the running block graph was changed outside snapvirt; which side is right cannot be proven (undo the change through QMP, or shut the domain off and fix its definition)';
    case 'stray-file':
      return 'removing it could lose data';
    case 'shared-image':
      return 'another domain uses it; snapvirt removes no file another domain reaches';
    case 'journal-open':
      return 'recovery did not run';
  }
}
