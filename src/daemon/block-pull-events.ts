/**
 * The block-job event of a pull run through the daemon. The QEMU driver reports the
 * commits it finishes (block-job-events.ts) but not its pulls, and a libvirt client that
 * registered for block-job events waits for one: virsh blockpull --wait polls
 * virDomainGetBlockJobInfo only when it could not register, so without this event it
 * would wait forever. The pull has ended inside the call (docs/COMPATIBILITY.md), so its
 * COMPLETED event follows the call at once.
 */
import type { Domain } from '../api/domain.js';
import { BlockJobStatus, BlockJobType, emitBlockJobEvent } from '../drivers/block-job-events.js';

/** The disk `disk` (a target or a source path) names, as the event names it: target and image. */
async function diskOf(dom: Domain, disk: string): Promise<{ target: string; path: string } | null> {
  const def = await dom.getDefinition();
  const found = def.disks.find((d) => d.target === disk || d.source === disk);
  return found?.source === undefined ? null : { target: found.target, path: found.source };
}

/** Runs `pull` on `dom`'s `disk`, then reports its completion as libvirt's QEMU driver does. */
export async function pullWithEvent(dom: Domain, disk: string, pull: () => Promise<void>): Promise<void> {
  await pull();
  const named = await diskOf(dom, disk);
  if (named) emitBlockJobEvent({ domainUuid: dom.getUUIDString(), ...named, type: BlockJobType.PULL, status: BlockJobStatus.COMPLETED });
}
