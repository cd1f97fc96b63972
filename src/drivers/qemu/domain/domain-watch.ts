/**
 * snapvirtd's domain watch for one qemu:/// state directory: one resident monitor
 * (qmp/event-monitor.ts) on the events.sock of each running QEMU, so the daemon knows each
 * domain's run status without a QMP round trip on qmp.sock (which every process's
 * commands share, one client at a time), and hears every block job, whichever process
 * runs it. A domain is attached the first time its state is asked, or by attachRunning
 * (the daemon's clients listen for block jobs). A QEMU started by an older snapvirt has no
 * events.sock, and one whose events.sock another listener holds does not greet in time:
 * both are left to the ordinary path (the first is never asked again, the second after a
 * while). A monitor whose connection closes (QEMU gone) is forgotten. A job's image is
 * named from the journal of the operation that runs it (journaled-job-layers.ts), read
 * through the watch's own handle on the state's store.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BlockJobStatus, type BlockJobEvent } from '../../block-job-events.js';
import type { DomainWatch } from '../../domain-watch.js';
import { EventMonitor, type HeardBlockJob } from '../qmp/event-monitor.js';
import { isQemuRunningIn, qemuRuntimePaths, readPidfile } from './qemu-process.js';
import { journaledJobLayers } from './journaled-job-layers.js';
import { openStore, type Store } from '../../../store/index.js';
import type { RunStatusSource } from './run-status-source.js';
import { domainOfRuntimeDir } from './active-runtime.js';

/** How long QEMU may take to greet on events.sock before the domain is left to the ordinary path. */
const ATTACH_TIMEOUT_MS = 1000;
/** When a monitor could not be attached (held by another listener), how long before trying again. */
const RETRY_AFTER_MS = 30_000;
/** How long a heard job end waits for this process's own report of the same job (takeHeard). */
const HEARD_TTL_MS = 60_000;

interface Attachment {
  pid: number;
  monitor: Promise<EventMonitor | undefined>;
  /** When a failed attach may be tried again (Infinity: never, the QEMU has no events.sock). */
  retryAt?: number;
}

export class QemuDomainWatch implements DomainWatch, RunStatusSource {
  readonly #attached = new Map<string, Attachment>();
  readonly #listeners = new Set<(event: BlockJobEvent) => void>();
  readonly #stateListeners = new Set<(uuid: string) => void>();
  /** Job ends heard, by domain, disk and status: when each heard one expires. */
  readonly #heard = new Map<string, number[]>();
  #closed = false;
  /** The state's store, opened for the journal's view of running jobs (journaled-job-layers.ts). */
  #store: Store | undefined;

  constructor(readonly stateDir: string) {}

  async runStatus(runtimeDir: string, pid: number): Promise<string | undefined> {
    const monitor = await this.#attach(runtimeDir, pid);
    return monitor?.status();
  }

  async attachRunning(): Promise<void> {
    const run = join(this.stateDir, 'run');
    const entries = await readdir(run, { withFileTypes: true }).catch(() => []);
    await Promise.all(entries.filter((e) => e.isDirectory()).map(async (e) => {
      const dir = join(run, e.name);
      if (!existsSync(qemuRuntimePaths(dir).eventsSocket) || !await isQemuRunningIn(dir)) return;
      const pid = await readPidfile(qemuRuntimePaths(dir).pidfile);
      if (pid !== undefined) await this.#attach(dir, pid);
    }));
  }

  onBlockJob(listener: (event: BlockJobEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  onStateChange(listener: (uuid: string) => void): () => void {
    this.#stateListeners.add(listener);
    return () => { this.#stateListeners.delete(listener); };
  }

  takeHeard(event: BlockJobEvent): boolean {
    const key = heardKey(event.domainUuid, event.target, event.status);
    const now = performance.now();
    const times = (this.#heard.get(key) ?? []).filter((t) => t > now);
    const taken = times.shift() !== undefined;
    if (times.length > 0) this.#heard.set(key, times);
    else this.#heard.delete(key);
    return taken;
  }

  close(): void {
    this.#closed = true;
    for (const a of this.#attached.values()) void a.monitor.then((m) => m?.close());
    this.#attached.clear();
    this.#store?.close();
    this.#store = undefined;
  }

  /** The live monitor on the QEMU `pid` of `runtimeDir`, attaching it if need be; undefined: use the ordinary path. */
  async #attach(runtimeDir: string, pid: number): Promise<EventMonitor | undefined> {
    const current = this.#attached.get(runtimeDir);
    if (current?.pid === pid && (current.retryAt === undefined || performance.now() < current.retryAt)) {
      const monitor = await current.monitor;
      if (!monitor?.isClosed) return monitor;
    }
    if (this.#closed) return undefined;
    // Another QEMU in the same directory (the domain restarted): its monitor is the one to hold.
    if (current && current.pid !== pid) void current.monitor.then((m) => m?.close());
    const socket = qemuRuntimePaths(runtimeDir).eventsSocket;
    const uuid = domainOfRuntimeDir(runtimeDir);
    const attachment: Attachment = { pid, monitor: Promise.resolve(undefined) };
    attachment.monitor = EventMonitor.open(socket, ATTACH_TIMEOUT_MS, {
      blockJob: (job) => this.#heardJob(uuid, job),
      stateChanged: () => { for (const listener of [...this.#stateListeners]) listener(uuid); },
      layersOf: (target, kind) => {
        try {
          this.#store ??= openStore(this.stateDir);
          return journaledJobLayers(this.#store, uuid, runtimeDir, target, kind);
        } catch {
          return undefined; // the store cannot be read: QEMU is asked instead
        }
      },
      closed: () => { if (this.#attached.get(runtimeDir) === attachment && attachment.retryAt === undefined) this.#attached.delete(runtimeDir); },
    }).catch((err: unknown) => {
      // No socket: a QEMU of an older snapvirt, never to have one. Otherwise: held by another listener, or slow.
      attachment.retryAt = (err as NodeJS.ErrnoException).code === 'ENOENT' ? Infinity : performance.now() + RETRY_AFTER_MS;
      return undefined;
    });
    this.#attached.set(runtimeDir, attachment);
    const monitor = await attachment.monitor;
    if (this.#closed) monitor?.close();
    return this.#closed ? undefined : monitor;
  }

  #heardJob(domainUuid: string, job: HeardBlockJob): void {
    // This process's own jobs report their ends only, never READY (takeHeard's callers).
    if (job.status !== BlockJobStatus.READY) {
      const key = heardKey(domainUuid, job.target, job.status);
      this.#heard.set(key, [...(this.#heard.get(key) ?? []), performance.now() + HEARD_TTL_MS]);
    }
    void job.path.then((path) => {
      const event: BlockJobEvent = { domainUuid, target: job.target, path, type: job.type, status: job.status };
      for (const listener of [...this.#listeners]) listener(event);
    });
  }
}

function heardKey(uuid: string, target: string, status: number): string {
  return `${uuid}\0${target}\0${status}`;
}
