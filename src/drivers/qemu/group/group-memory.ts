/**
 * Memory state for a group's running members (a group snapshot without --disk-only): each
 * running member's machine state is saved to its own file while every member's vCPUs are
 * stopped, then every member's disks switch to their overlays, so the memory and the
 * disks of every member hold one instant, the same instant for all of them. The saves run
 * at once (each QEMU writes its own stream), so the window is the slowest save, not the
 * sum. A member's snapshot is an ordinary external full-system snapshot (state running
 * or paused, `<memory snapshot='external' file=…/>`): `snapshot-revert` of it alone, a
 * group revert (a new QEMU per member, loading its file) and a delete (which removes the
 * file, as libvirt ≥ 9.1 does) need nothing of their own.
 *
 * libvirt has no default name for an external memory file (it requires `file=`); a group
 * names each member's `<domain>.<group>.mem` beside the member's first disk image, where
 * its overlays go too.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { settleAll, type Resource, type Step, type TxnContext } from '../../../txn/index.js';
import { saveMemoryToFile } from '../qmp/memory-migration.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { qmpErrorToVirError } from '../qmp/qmp-errors.js';

/** A running member whose memory the group saves. */
export interface MemberMemory {
  runtimeDir: string;
  qmp: QmpClient;
  /** The memory file (created by the step, 0600). */
  file: string;
}

/**
 * The memory file of running domain `domainName` (its live definition `live`) in group
 * `group`: beside its first file-backed disk. Refused, with nothing changed, when it
 * exists or the domain has no file-backed disk.
 */
export function memberMemoryFile(live: DomainDef, domainName: string, group: string): string {
  const first = live.disks.find((d) => d.device === 'disk' && d.sourcePath !== undefined && d.type === 'file');
  if (first?.sourcePath === undefined) {
    throw virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU,
      `domain '${domainName}' has no file-backed disk beside which to save its memory state`);
  }
  const file = join(dirname(first.sourcePath), `${domainName}.${group}.mem`);
  if (existsSync(file)) throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, `memory snapshot file '${file}' already exists`);
  return file;
}

/**
 * The step that saves every member's memory at once (the vCPUs already stopped by the
 * step before it). Each file is created exclusively: in this process a rollback removes
 * only the files it created, since a name someone took meanwhile is theirs (recovery
 * after a crash removes every listed file: it cannot tell, as for the overlays).
 */
export function saveMemoriesStep(ctx: TxnContext, members: readonly MemberMemory[]): Step {
  const resources: Resource[] = members.map((m) => ({ kind: 'file-created', path: m.file }));
  const created = members.map(() => false);
  return {
    name: `memory.${members.length}`,
    resources,
    async do() {
      await settleAll(members.map(async (m, i) => {
        try {
          await saveMemoryToFile(m.qmp, m.runtimeDir, m.file);
          created[i] = true;
        } catch (err) {
          created[i] = (err as NodeJS.ErrnoException).code !== 'EEXIST';
          throw qmpErrorToVirError(err);
        }
      }));
    },
    async undo() {
      for (let i = members.length - 1; i >= 0; i--) {
        if (created[i]) await ctx.registry.resource('file-created').undo(resources[i]!);
      }
    },
  };
}
