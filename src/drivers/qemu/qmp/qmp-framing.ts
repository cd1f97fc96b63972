/**
 * Splits the QMP byte stream into messages. QEMU ends every message with CRLF, but a
 * socket read may hold half a message, several messages, or a UTF-8 character cut in
 * two, so bytes are buffered and only complete lines are decoded.
 */

/** Accumulates socket chunks and yields each complete, non-empty line as a string. */
export class QmpLineDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Feeds one chunk; returns the complete lines it finished (without line terminators). */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      const whole = this.pendingBytes === 0 ? piece : Buffer.concat([...this.pending, piece]);
      this.pending = [];
      this.pendingBytes = 0;
      // Decode the whole line at once so multi-byte characters split across reads survive.
      const line = whole.toString('utf8').replace(/\r$/, '');
      if (line.trim() !== '') lines.push(line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      // Copy: the caller's buffer may be reused by the stream.
      const rest = Buffer.from(chunk.subarray(start));
      this.pending.push(rest);
      this.pendingBytes += rest.length;
    }
    return lines;
  }

  /** Bytes received after the last complete line. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }
}
