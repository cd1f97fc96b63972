/**
 * The daemon's domain watches, one per qemu:/// URI its clients open (the driver's
 * DomainWatch: drivers/qemu/domain/domain-watch.ts holds a monitor on each running QEMU's
 * events.sock). Every connection a client opens on that URI answers run states from it,
 * so `virsh list`, `domstate` and `dominfo` cost no QMP round trip once a domain is
 * watched; and the block jobs it hears, every process's, go to the URI's clients
 * (block-job-event-relay.ts). A watch lives as long as the daemon: each virsh command is a
 * new client, and the monitors are what it answers from. While a client of the URI
 * listens for block jobs, running domains are attached at once and looked for every
 * POLL_INTERVAL_MS (a domain another process starts). A run state change QEMU reports
 * (another process's suspend, a guest powering off) has the URI's lifecycle events look at
 * once (outside-changes.ts) instead of at their next tick. test:/// URIs have nothing to watch.
 */
import type { BlockJobEvent } from '../drivers/block-job-events.js';
import type { DomainWatch } from '../drivers/domain-watch.js';
import { POLL_INTERVAL_MS } from '../api/local-lifecycle-events.js';
import type { remoteProcedures } from '../rpc/generated/remote-protocol.js';
import type { ClientSession } from './client-session.js';
import type { Handler, RemoteHandlers } from './handler-types.js';

type OpenHandler = Handler<typeof remoteProcedures.REMOTE_PROC_CONNECT_OPEN>;

/** VIR_DOMAIN_EVENT_ID_BLOCK_JOB and BLOCK_JOB_2. */
export const BLOCK_JOB_EVENT_IDS: ReadonlySet<number> = new Set([8, 16]);

interface Watched {
  watch: DomainWatch;
  timer: NodeJS.Timeout | undefined;
}

export class DomainWatches {
  readonly #byUri = new Map<string, Watched>();
  #stopped = false;

  constructor(
    private readonly sessions: () => Iterable<ClientSession>,
    /** Where a block-job change heard on `uri`'s domains goes. */
    private readonly onBlockJob: (uri: string, event: BlockJobEvent) => void,
    /** Told when domain `uuid`'s run state on `uri` may have changed (QEMU's event): lifecycle events look at once. */
    private readonly onStateChange: (uri: string, uuid: string) => void,
    private readonly intervalMs = POLL_INTERVAL_MS,
  ) {}

  /** CONNECT_OPEN as `open` does it, then the new connection answers run states from its URI's watch. */
  wrapOpen(open: OpenHandler): OpenHandler {
    return async (session, args) => {
      const ret = await open(session, args);
      this.#install(session);
      return ret;
    };
  }

  /** The event registration procedure as `handlers` has it, then its URI's domains attached when it is for block jobs. */
  wrapRegister(handlers: RemoteHandlers): RemoteHandlers {
    const register = handlers.REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY;
    if (!register) return handlers;
    return {
      ...handlers,
      REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: async (session, args) => {
        const ret = await register(session, args);
        if (BLOCK_JOB_EVENT_IDS.has(args.eventID)) await this.#watchBlockJobs();
        return ret;
      },
    };
  }

  /** Whether a watch heard the change `event` describes (and sent it): this process's own report is then a repeat. */
  heard(event: BlockJobEvent): boolean {
    for (const w of this.#byUri.values()) if (w.watch.takeHeard(event)) return true;
    return false;
  }

  /** Closes every watch (the daemon is stopping). */
  stop(): void {
    this.#stopped = true;
    for (const w of this.#byUri.values()) {
      clearTimeout(w.timer);
      w.watch.close();
    }
    this.#byUri.clear();
  }

  #install(session: ClientSession): void {
    const conn = session.conn;
    const uri = conn?.getURI();
    if (!conn || uri === undefined || !uri.startsWith('qemu:') || this.#stopped) return;
    let w = this.#byUri.get(uri);
    if (!w) {
      const watch = conn.driver.openDomainWatch?.();
      if (!watch) return;
      watch.onBlockJob((event) => this.onBlockJob(uri, event));
      watch.onStateChange((uuid) => this.onStateChange(uri, uuid));
      w = { watch, timer: undefined };
      this.#byUri.set(uri, w);
    }
    conn.driver.useDomainWatch?.(w.watch);
  }

  /** The URIs some client listens on for block jobs. */
  #listening(): Set<string> {
    const uris = new Set<string>();
    for (const s of this.sessions()) {
      const uri = s.conn?.getURI();
      if (uri !== undefined && [...s.registrations.values()].some((r) => BLOCK_JOB_EVENT_IDS.has(r.eventID))) uris.add(uri);
    }
    return uris;
  }

  async #watchBlockJobs(): Promise<void> {
    for (const uri of this.#listening()) {
      const w = this.#byUri.get(uri);
      if (!w) continue;
      await w.watch.attachRunning();
      if (!w.timer) this.#schedule(uri, w);
    }
  }

  #schedule(uri: string, w: Watched): void {
    w.timer = setTimeout(() => {
      if (!this.#listening().has(uri) || this.#byUri.get(uri) !== w) {
        w.timer = undefined;
        return;
      }
      void w.watch.attachRunning().finally(() => { if (this.#byUri.get(uri) === w) this.#schedule(uri, w); });
    }, this.intervalMs);
    w.timer.unref();
  }
}
