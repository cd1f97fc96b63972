/**
 * A resident listener on a QEMU's second monitor (`events.sock`, qemu-command-line.ts).
 * QEMU serves one client per monitor socket, so snapvirt's commands (every process's)
 * connect to `qmp.sock` for the time of a call; but QEMU broadcasts every event to every
 * monitor, so one connection that stays on `events.sock` hears the run state change
 * (STOP, RESUME, SHUTDOWN, …) and the block jobs end whichever process caused it, as
 * libvirtd hears its QEMUs. snapvirtd holds it (its domain watch, domain-watch.ts).
 *
 * The run status is QEMU's own `query-status` string, asked once on connect and again
 * after each event that can change it, over this same connection (never qmp.sock); the
 * event itself gives a first answer at once. One stream carries the replies and the
 * events in QEMU's order, so a reply is kept only when no event came between its
 * question and its answer (else it is asked again).
 */
import { BlockJobStatus, BlockJobType } from '../../block-job-events.js';
import { parseQueryBlock } from './active-chain.js';
import { QmpClient, type QmpEvent } from './qmp-client.js';
import { QmpProtocolError } from './qmp-errors.js';
import { expectArray, isJsonObject, optionalString } from './qmp-json.js';

/** A block job's change heard on the monitor; `path` (the disk's image when the job started) may need a question first. */
export interface HeardBlockJob {
  target: string;
  type: number;
  status: number;
  path: Promise<string>;
}

/** The images snapvirt's journal names for a job (domain/journaled-job-layers.ts). */
export interface JobLayers {
  /** What an active commit, a ready job and a pull name: the image on the disk's top when the job started. */
  top: string;
  /** What a commit below the disk's top names. */
  above: string;
}

/** What a monitor reports besides the status it keeps, and what it asks. */
export interface EventMonitorHandlers {
  /** Called synchronously as the event arrives. */
  blockJob(job: HeardBlockJob): void;
  /** The journal's images for the job on disk `target`, when it has them (asked as the job is first seen). */
  layersOf(target: string, kind: 'commit' | 'stream'): JobLayers | undefined;
  /** A run-state event arrived (STOP, RESUME, SHUTDOWN, …): the status may differ now. */
  stateChanged(): void;
  /** The connection ended (QEMU exited, or close()). */
  closed(): void;
}

/** The events after which QEMU's run status may differ, with the status each implies at once (undefined: ask). */
const RUN_STATE_EVENTS: Record<string, (current: string) => string | undefined> = {
  STOP: (current) => (current === 'shutdown' ? current : 'paused'),
  RESUME: () => 'running',
  WAKEUP: () => 'running',
  // With -no-shutdown a guest power-off leaves QEMU in status 'shutdown' (SHUTDOWN, then STOP).
  SHUTDOWN: () => 'shutdown',
  SUSPEND: () => 'suspended',
  GUEST_PANICKED: () => 'guest-panicked',
  RESET: () => undefined,
  SUSPEND_DISK: () => undefined,
  WATCHDOG: () => undefined,
  GUEST_CRASHLOADED: () => undefined,
  BLOCK_IO_ERROR: () => undefined,
  MIGRATION: () => undefined,
};

/** snapvirt's block jobs (block-commit.ts, block-stream.ts) name their disk: snapvirt-commit-vda. */
const JOB_ID = /^snapvirt-(commit|stream)-(.+)$/;

/** How long a question on the resident monitor may take before the event's own answer stands. */
const QUERY_TIMEOUT_MS = 2000;

interface TrackedJob {
  target: string;
  kind: 'commit' | 'stream';
  ready: boolean;
  layers: JobLayers | undefined;
  /** The disk's top asked of QEMU, when the journal did not say (an onlooker's answer: the job may have moved on). */
  asked: Promise<string> | undefined;
}

export class EventMonitor {
  #status = 'unknown';
  /** Counts events that may change the status: a reply asked before the latest one is stale. */
  #stateEvents = 0;
  #refreshing: Promise<void> | undefined;
  readonly #jobs = new Map<string, TrackedJob>();

  private constructor(private readonly qmp: QmpClient, private readonly handlers: EventMonitorHandlers) {}

  /**
   * Connects to `socketPath` and learns the run status and the running block jobs.
   * Rejects when the socket is absent (a QEMU started without it) or when QEMU does not
   * greet within `timeoutMs` (another listener holds the monitor).
   */
  static async open(socketPath: string, timeoutMs: number, handlers: EventMonitorHandlers): Promise<EventMonitor> {
    const qmp = await QmpClient.connect(socketPath, { timeoutMs, commandTimeoutMs: QUERY_TIMEOUT_MS });
    const monitor = new EventMonitor(qmp, handlers);
    qmp.onEvent((ev) => monitor.#onEvent(ev));
    qmp.onClose(() => handlers.closed());
    try {
      await monitor.#refresh();
      if (monitor.#status === 'unknown') throw new QmpProtocolError('query-status was not answered');
      await monitor.#learnRunningJobs();
    } catch (err) {
      qmp.destroy('first questions failed');
      throw err;
    }
    return monitor;
  }

  /** True once the connection ended: QEMU is gone (or the monitor was closed). */
  get isClosed(): boolean {
    return this.qmp.isClosed;
  }

  /**
   * QEMU's run status (query-status's `status`), once any question in flight is answered;
   * undefined when closed, or when QEMU has not said (ask on qmp.sock then). 'shutdown' is
   * asked again first: its caller stops the QEMU, and a reset and resume (a fake reboot) may
   * be on their way in the stream.
   */
  async status(): Promise<string | undefined> {
    await this.#refreshing;
    if (this.#status === 'shutdown') await this.#refresh();
    return this.qmp.isClosed || this.#status === 'unknown' ? undefined : this.#status;
  }

  /** Ends the connection. */
  close(): void {
    this.qmp.destroy('watch closed');
  }

  #onEvent(ev: QmpEvent): void {
    const implied = RUN_STATE_EVENTS[ev.event];
    if (implied) {
      this.#stateEvents++;
      this.#status = implied(this.#status) ?? this.#status;
      void this.#refresh();
      this.handlers.stateChanged();
      return;
    }
    const id = typeof ev.data.id === 'string' ? ev.data.id : typeof ev.data.device === 'string' ? ev.data.device : '';
    const m = JOB_ID.exec(id);
    if (!m) return;
    const kind = m[1] === 'commit' ? 'commit' : 'stream';
    const target = m[2]!;
    if (ev.event === 'JOB_STATUS_CHANGE' && ev.data.status === 'created') {
      this.#jobs.set(id, this.#track(target, kind, false));
      return;
    }
    let status: number;
    if (ev.event === 'BLOCK_JOB_READY') status = BlockJobStatus.READY;
    else if (ev.event === 'BLOCK_JOB_COMPLETED') status = typeof ev.data.error === 'string' ? BlockJobStatus.FAILED : BlockJobStatus.COMPLETED;
    else if (ev.event === 'BLOCK_JOB_CANCELLED') status = BlockJobStatus.CANCELED;
    else return; // BLOCK_JOB_ERROR is an I/O error inside a job that goes on (or ends with its own event)
    const job = this.#jobs.get(id) ?? this.#track(target, kind, false);
    if (status === BlockJobStatus.READY) {
      job.ready = true;
      this.#jobs.set(id, job);
    } else {
      this.#jobs.delete(id);
    }
    // Only an active commit (of the disk's top) has a ready phase: QEMU calls both kinds 'commit'.
    const type = kind === 'stream' ? BlockJobType.PULL : job.ready ? BlockJobType.ACTIVE_COMMIT : BlockJobType.COMMIT;
    const named = type === BlockJobType.COMMIT ? job.layers?.above : job.layers?.top;
    this.handlers.blockJob({ target, type, status, path: named !== undefined ? Promise.resolve(named) : job.asked ?? this.#topOf(target) });
  }

  /** A job seen for the first time: its images from the journal, else the disk's top asked of QEMU now. */
  #track(target: string, kind: 'commit' | 'stream', ready: boolean): TrackedJob {
    const layers = this.handlers.layersOf(target, kind);
    return { target, kind, ready, layers, asked: layers === undefined ? this.#topOf(target) : undefined };
  }

  /** Asks query-status until an answer comes with no state event between question and answer. */
  #refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        for (;;) {
          const seen = this.#stateEvents;
          const reply = await this.qmp.execute('query-status');
          if (seen !== this.#stateEvents) continue;
          this.#status = (isJsonObject(reply) ? optionalString(reply, 'status') : undefined) ?? 'unknown';
          return;
        }
      } catch {
        // Timed out (QEMU's main loop busy) or closed: the event's own answer stands.
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** The jobs already running when the monitor connected (a merge another process started). */
  async #learnRunningJobs(): Promise<void> {
    const jobs = expectArray(await this.qmp.execute('query-block-jobs'), 'query-block-jobs');
    for (const j of jobs) {
      const id = isJsonObject(j) ? optionalString(j, 'device') : undefined;
      const m = id === undefined ? null : JOB_ID.exec(id);
      if (!m || !isJsonObject(j)) continue;
      this.#jobs.set(id!, this.#track(m[2]!, m[1] === 'commit' ? 'commit' : 'stream', j.ready === true));
    }
  }

  /** The image on top of disk `target` now ('' when QEMU cannot say). */
  #topOf(target: string): Promise<string> {
    return this.qmp.execute('query-block', undefined, { timeoutMs: QUERY_TIMEOUT_MS })
      .then((reply) => parseQueryBlock(reply).find((c) => c.target === target)?.file ?? '')
      .catch(() => '');
  }
}
