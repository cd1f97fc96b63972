/**
 * A quiesced group create (--quiesce): every running member's filesystems frozen by its
 * guest agent before any member's vCPUs stop, and thawed on every path once the vCPUs run
 * again (an agent cannot thaw a stopped guest). The freeze is a journaled step placed just
 * before the vCPU stop, so:
 *   - a failure (a member's freeze included) undoes the steps newest first: the vCPUs are
 *     resumed, then every member is thawed (thawing one that never froze is harmless);
 *   - on success the guests run again right after the switch (resumeStopped), and the
 *     post-commit work resumes any still stopped (the stop step's resources) and then
 *     thaws (this file's finalize resources, which run after every step's);
 *   - a crash in between: recovery undoes or finalizes the same resources.
 * The freeze and thaw are the single-domain quiesce's agent calls (qmp/guest-agent.ts).
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { Resource, Step, TxnContext } from '../../../txn/index.js';
import { qemuRuntimePaths } from '../domain/qemu-process.js';
import { freezeGuest, quiesceFreezeTimeoutMs, thawGuest } from '../qmp/guest-agent.js';
import type { LiveCreateIntent } from '../journal/active-resources.js';

/** Undone before the commit: thaws the member. */
const GROUP_THAW = 'qemu-group-thaw';
/** After the commit: thaws the member (after every member's vCPUs resumed). */
const GROUP_THAW_AFTER = 'qemu-group-thaw-after';

function thawResource(kind: string, runtimeDir: string, uuid: string): Resource {
  return { kind, runtimeDir, domainUuid: uuid };
}

/**
 * Thaws the member (thawGuest retries until the agent reports thawed, within 30 s). Best
 * effort, as the single domain's thaw: a dead agent is warned about, never left as an
 * undo or post-commit failure that would keep the group's journal entry open.
 */
async function thaw(ctx: TxnContext, r: Resource): Promise<void> {
  if (typeof r.runtimeDir !== 'string') {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `${r.kind} resource without a runtime directory`);
  }
  await thawGuest(qemuRuntimePaths(r.runtimeDir).guestAgentSocket).catch((err: unknown) => {
    ctx.warn(`the guest's filesystems may still be frozen: ${err instanceof Error ? err.message : String(err)}`);
  });
}

/** Registers the thaw resources on the driver's txn context. */
export function registerGroupQuiesceHandlers(ctx: TxnContext): void {
  ctx.registry.registerResource(GROUP_THAW, { undo: (r) => thaw(ctx, r) });
  ctx.registry.registerResource(GROUP_THAW_AFTER, {
    async undo() {
      // Post-commit only: before the commit GROUP_THAW's undo thaws.
    },
    finalize: (r) => thaw(ctx, r),
  });
}

/**
 * The step freezing every running member's filesystems, in canonical order (the step just
 * before the vCPU stop); each member's count of frozen filesystems goes into its intent.
 */
export function freezeMembersStep(members: readonly { uuid: string; intent: LiveCreateIntent }[]): Step {
  return {
    name: `freeze.${members.length}`,
    resources: members.map((m) => thawResource(GROUP_THAW, m.intent.runtimeDir, m.uuid)),
    async do() {
      const timeoutMs = quiesceFreezeTimeoutMs();
      for (const m of members) {
        const frozen = await freezeGuest(qemuRuntimePaths(m.intent.runtimeDir).guestAgentSocket, timeoutMs);
        if (frozen !== undefined) m.intent.frozenFilesystems = frozen;
      }
    },
  };
}

/** The post-commit thaws of every running member (the operation's finalize resources). */
export function thawAfterCommit(members: readonly { uuid: string; intent: LiveCreateIntent }[]): Resource[] {
  return members.map((m) => thawResource(GROUP_THAW_AFTER, m.intent.runtimeDir, m.uuid));
}
