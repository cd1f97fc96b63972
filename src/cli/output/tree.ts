/**
 * virsh's tree listing (vshTreePrint in tools/vsh.c), trailing spaces included: children
 * hang under `+- `, a `|` line precedes a node's children, and the last leaf of a branch
 * is followed by a line holding only the current indentation.
 */

/** One entry of the list being drawn: its name and its parent's name (undefined for a root). */
export interface TreeEntry {
  readonly name: string;
  readonly parent: string | undefined;
}

/** One node being drawn: its children still to draw, and what its closing needs. */
interface Frame {
  readonly isLast: boolean;
  readonly root: boolean;
  readonly children: readonly number[];
  next: number;
  /** The indentation's bar mark (see Indentation) before this node's levels were added. */
  readonly barsBefore: number;
}

/**
 * Draws the subtree rooted at `entries[rootIndex]`, as vshTreePrint does. vshTreePrint
 * recurses and rescans the list per node; this walks with an explicit stack and a
 * parent → children index, so deep chains neither overflow the stack nor take O(n²).
 */
export function formatTree(entries: readonly TreeEntry[], rootIndex: number): string {
  const parts: string[] = [];
  writeTree(entries, rootIndex, (chunk) => {
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8'));
    return true;
  });
  return parts.join('');
}

/**
 * Takes one chunk of the drawing (whole UTF-8). Returns true when it is done with the
 * bytes, so the chunk's memory can be filled again; false when it keeps them (a stream
 * that queued them).
 */
export type ChunkSink = (chunk: Uint8Array) => boolean;

/** The drawing is handed out in pieces of at most this many bytes (one write each). */
const CHUNK_BYTES = 1 << 20;

const SPACE = 0x20;
const BRANCH = Buffer.from('+- ');
const BAR = Buffer.from('  |');
const NEWLINE = Buffer.from('\n');
const OPEN = Buffer.from('| ');
const CLOSED = Buffer.from('  ');

/**
 * Bytes written into fixed-size chunks, each handed to the sink as soon as it is full. A
 * chunk the sink is done with is filled again: a 400 MB drawing then touches 1 MiB of
 * memory instead of 400 MB of fresh pages. A name is never split across chunks, so every
 * chunk is whole UTF-8.
 */
class ChunkWriter {
  #chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  #used = 0;

  constructor(readonly sink: ChunkSink) {}

  /** Appends `bytes` (ASCII drawing or indentation), split across chunks as needed. */
  copy(bytes: Uint8Array): void {
    let from = 0;
    while (from < bytes.length) {
      const n = Math.min(bytes.length - from, CHUNK_BYTES - this.#used);
      this.#chunk.set(n === bytes.length ? bytes : bytes.subarray(from, from + n), this.#used);
      this.#used += n;
      from += n;
      if (this.#used === CHUNK_BYTES) this.flush();
    }
  }

  /** Appends `count` copies of `byte`. */
  fill(byte: number, count: number): void {
    while (count > 0) {
      const n = Math.min(count, CHUNK_BYTES - this.#used);
      this.#chunk.fill(byte, this.#used, this.#used + n);
      this.#used += n;
      count -= n;
      if (this.#used === CHUNK_BYTES) this.flush();
    }
  }

  /** Appends `bytes` whole (a UTF-8 name): in the current chunk if it fits, else starting a new one. */
  copyWhole(bytes: Uint8Array): void {
    if (bytes.length > CHUNK_BYTES - this.#used) {
      this.flush();
      if (bytes.length > CHUNK_BYTES) {
        this.sink(bytes);
        return;
      }
    }
    this.copy(bytes);
  }

  /** Hands what is written so far to the sink. */
  flush(): void {
    if (this.#used === 0) return;
    if (!this.sink(this.#chunk.subarray(0, this.#used))) this.#chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.#used = 0;
  }
}

/**
 * The current indentation: a `| ` or `  ` per open ancestor level plus `  ` per frame,
 * so mostly spaces. Only the part up to the last `|` is copied per line; the spaces after
 * it are filled (a 10,000-deep chain indents its last lines by 40,000 spaces).
 */
class Indentation {
  #buf = Buffer.allocUnsafe(256);
  length = 0;
  /** The length of the prefix that ends with the last `|` (0 when there is none). */
  bars = 0;

  push(part: Uint8Array): void {
    if (this.length + part.length > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.length + part.length));
      this.#buf.copy(grown, 0, 0, this.length);
      this.#buf = grown;
    }
    this.#buf.set(part, this.length);
    this.length += part.length;
    const bar = part.lastIndexOf(0x7c);
    if (bar >= 0) this.bars = this.length - part.length + bar + 1;
  }

  /** Drops the last `count` bytes; `bars` is the mark to return to (saved before the push). */
  pop(count: number, bars: number): void {
    this.length -= count;
    this.bars = bars;
  }

  writeTo(out: ChunkWriter): void {
    if (this.bars > 0) out.copy(this.#buf.subarray(0, this.bars));
    out.fill(SPACE, this.length - this.bars);
  }
}

/**
 * formatTree's drawing as UTF-8 bytes, handed to `sink` in chunks of up to 1 MiB. Each
 * line is indented by its depth, as virsh does, so a 10,000-deep chain draws 400 MB: it
 * is written straight into byte chunks (no strings, which would be built, then encoded
 * again on write), mostly with fill(), and never held whole.
 */
export function writeTree(entries: readonly TreeEntry[], rootIndex: number, sink: ChunkSink): void {
  const childrenOf = new Map<string, number[]>();
  entries.forEach((entry, i) => {
    if (entry.parent === undefined) return;
    const siblings = childrenOf.get(entry.parent);
    if (siblings) siblings.push(i);
    else childrenOf.set(entry.parent, [i]);
  });
  const out = new ChunkWriter(sink);
  const indent = new Indentation();
  const enter = (index: number, isLast: boolean, root: boolean): Frame => {
    const name = entries[index]!.name;
    const barsBefore = indent.bars;
    indent.writeTo(out);
    if (!root) out.copy(BRANCH);
    out.copyWhole(Buffer.from(name));
    out.copy(NEWLINE);
    if (!root) indent.push(isLast ? CLOSED : OPEN);
    const children = childrenOf.get(name) ?? [];
    if (children.length > 0) {
      indent.writeTo(out);
      out.copy(BAR);
      out.copy(NEWLINE);
    }
    indent.push(CLOSED);
    return { isLast, root, children, next: 0, barsBefore };
  };
  const stack: Frame[] = [enter(rootIndex, true, true)];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.children.length) {
      const child = top.children[top.next]!;
      top.next += 1;
      stack.push(enter(child, top.next === top.children.length, false));
      continue;
    }
    stack.pop();
    // The last leaf of a branch is followed by a line holding only the indentation (its own level included).
    if (top.children.length === 0 && top.isLast) {
      indent.pop(2, indent.bars);
      indent.writeTo(out);
      out.copy(NEWLINE);
      indent.pop(top.root ? 0 : 2, top.barsBefore);
    } else {
      indent.pop(top.root ? 2 : 4, top.barsBefore);
    }
  }
  out.flush();
}
