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
}

/**
 * Draws the subtree rooted at `entries[rootIndex]`, as vshTreePrint does. vshTreePrint
 * recurses and rescans the list per node; this walks with an explicit stack and a
 * parent → children index, so deep chains neither overflow the stack nor take O(n²).
 */
export function formatTree(entries: readonly TreeEntry[], rootIndex: number): string {
  return [...formatTreeChunks(entries, rootIndex)].join('');
}

/** Text is handed out in pieces of about this many bytes. */
const CHUNK_BYTES = 1 << 16;

/** A growing byte buffer: the drawing is assembled in bytes, the indentation kept as bytes. */
class ByteRun {
  bytes = Buffer.allocUnsafe(256);
  length = 0;

  append(data: Uint8Array): void {
    if (this.length + data.length > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + data.length));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /** The first `length` bytes (a view, valid until the next append). */
  view(): Uint8Array { return this.bytes.subarray(0, this.length); }
}

const BRANCH = Buffer.from('+- ');
const BAR = Buffer.from('  |');
const NEWLINE = Buffer.from('\n');
const OPEN = Buffer.from('| ');
const CLOSED = Buffer.from('  ');

/**
 * formatTree's text in pieces, to be written as they come. Each line is indented by its
 * depth, as virsh does, so a 10,000-deep chain draws 400 MB: the lines are copied as bytes
 * into chunks (building them as strings made V8 flatten a rope as deep as the chain for
 * every line), and the whole drawing is never held at once.
 */
export function* formatTreeChunks(entries: readonly TreeEntry[], rootIndex: number): Generator<string> {
  const childrenOf = new Map<string, number[]>();
  entries.forEach((entry, i) => {
    if (entry.parent === undefined) return;
    const siblings = childrenOf.get(entry.parent);
    if (siblings) siblings.push(i);
    else childrenOf.set(entry.parent, [i]);
  });
  const out = new ByteRun();
  const indent = new ByteRun();
  const line = (...parts: Uint8Array[]): void => {
    out.append(indent.view());
    for (const part of parts) out.append(part);
    out.append(NEWLINE);
  };
  const enter = (index: number, isLast: boolean, root: boolean): Frame => {
    const name = entries[index]!.name;
    if (root) line(Buffer.from(name));
    else line(BRANCH, Buffer.from(name));
    if (!root) indent.append(isLast ? CLOSED : OPEN);
    const children = childrenOf.get(name) ?? [];
    if (children.length > 0) line(BAR);
    indent.append(CLOSED);
    return { isLast, root, children, next: 0 };
  };
  const stack: Frame[] = [enter(rootIndex, true, true)];
  while (stack.length > 0) {
    if (out.length >= CHUNK_BYTES) {
      yield out.bytes.toString('utf8', 0, out.length);
      out.length = 0;
    }
    const top = stack[stack.length - 1]!;
    if (top.next < top.children.length) {
      const child = top.children[top.next]!;
      top.next += 1;
      stack.push(enter(child, top.next === top.children.length, false));
      continue;
    }
    stack.pop();
    indent.length -= 2;
    // The last leaf of a branch is followed by a line holding only the indentation.
    if (top.children.length === 0 && top.isLast) line();
    if (!top.root) indent.length -= 2;
  }
  if (out.length > 0) yield out.bytes.toString('utf8', 0, out.length);
}
