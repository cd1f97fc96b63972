/**
 * The shell's state (virsh's vshControl): where output goes, quiet mode, the connection
 * and how to open it. The API is imported only when a connection is first needed, so
 * commands that need none (help, echo, -v) start fast.
 */
import type { Connection } from '../api/connection.js';
import type { VirError } from '../api/errors.js';
import type { DriverIdentity } from '../drivers/driver.js';

/** Where the shell writes. Tests capture these; main() points them at stdout/stderr. */
export interface OutputSink {
  out(text: string): void;
  err(text: string): void;
  /**
   * Writes UTF-8 bytes to the same place as out(), for output too large to build as a
   * string (a `--tree` drawing can be 400 MB). Returns true when it is done with them
   * (written out), false when it keeps them (queued): the caller then never changes them.
   * Sinks without it get the bytes decoded through out().
   */
  outBytes?(bytes: Uint8Array): boolean;
}

/** Options that last for the whole run. */
export interface ControlOptions {
  /** The URI from -c/--connect, or undefined for the default URI. */
  uri?: string;
  quiet: boolean;
  readonly: boolean;
  /** True in the interactive shell (cd is allowed, quit leaves the loop). */
  interactive: boolean;
  /** -t: print each command's duration instead of the blank line after it. */
  timing: boolean;
}

/** The shell's state, passed to every command handler. */
export class Control {
  private conn: Connection | null = null;
  /** Set by quit/exit: the interactive loop stops. */
  stopRequested = false;
  /** A libvirt error saved for reporting after the handler returns (virsh's last_error). */
  lastError: VirError | null = null;

  constructor(readonly io: OutputSink, readonly options: ControlOptions) {}

  /** vshPrint: always printed. */
  print(text: string): void { this.io.out(text); }
  /**
   * vshPrint of UTF-8 bytes cut at character boundaries. Returns true when the bytes may
   * be changed at once, false when the sink keeps them (see OutputSink.outBytes).
   */
  printBytes(bytes: Uint8Array): boolean {
    if (this.io.outBytes) return this.io.outBytes(bytes);
    this.io.out(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
    return true;
  }
  /** vshPrintExtra: suppressed by -q. */
  printExtra(text: string): void { if (!this.options.quiet) this.io.out(text); }
  /** vshError: `error: MESSAGE` and a newline on stderr (even when MESSAGE ends in one, as virsh). */
  error(message: string): void {
    this.io.err(`error: ${message}\n`);
  }

  /** The open connection; opens it on first use (virsh's connHandler). */
  async connection(): Promise<Connection> {
    if (this.conn) return this.conn;
    const { connect } = await import('../api/connection.js');
    // Read-only is the API's own mode (virConnectOpenReadOnly): it refuses mutating calls.
    this.conn = await connect(this.options.uri, { readOnly: this.options.readonly });
    return this.conn;
  }

  /**
   * Who the hypervisor is (type, version, URI, host name): from the open connection, else
   * from the driver without opening it when the driver can say (qemu), else by connecting.
   * Errors are those connecting would raise.
   */
  async identity(): Promise<DriverIdentity> {
    if (this.conn) return this.conn.driver.identity();
    const { identityWithoutOpening } = await import('../api/uri.js');
    return (await identityWithoutOpening(this.options.uri)) ?? (await this.connection()).driver.identity();
  }

  /** True when a connection is open. */
  get connected(): boolean { return this.conn !== null; }

  /** Replaces the connection (the `connect` command): the old one is closed first. */
  async reconnect(uri: string | undefined): Promise<void> {
    await this.disconnect();
    this.options.uri = uri;
    await this.connection();
  }

  /** Closes the connection, if any (close is never refused, read-only or not). */
  async disconnect(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    if (conn) await conn.close();
  }
}
