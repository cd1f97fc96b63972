/**
 * The byte pipe an RPC client speaks over, whatever carries it (a unix socket, an ssh
 * child's stdin and stdout). `ref`/`unref` say whether it keeps Node's event loop alive:
 * the client holds it only while a call waits for its reply, so an idle open connection
 * does not keep a program running, as a local connection does not.
 */
export interface Wire {
  write(frame: Buffer): void;
  onData(listener: (chunk: Buffer) => void): void;
  /** Called once when the far side is gone (EOF, or an error: its errno code name). */
  onEnd(listener: (errno: string | undefined) => void): void;
  /** What the carrier said on the way out (ssh's stderr), for the error message; '' for a socket. */
  farSideText(): string;
  close(): void;
  ref(): void;
  unref(): void;
}
