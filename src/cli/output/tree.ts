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
  const childrenOf = new Map<string, number[]>();
  entries.forEach((entry, i) => {
    if (entry.parent === undefined) return;
    const siblings = childrenOf.get(entry.parent);
    if (siblings) siblings.push(i);
    else childrenOf.set(entry.parent, [i]);
  });
  const lines: string[] = [];
  let indent = '';
  const enter = (index: number, isLast: boolean, root: boolean): Frame => {
    const name = entries[index]!.name;
    lines.push(`${indent}${root ? '' : '+- '}${name}`);
    if (!root) indent += `${isLast ? ' ' : '|'} `;
    const children = childrenOf.get(name) ?? [];
    if (children.length > 0) lines.push(`${indent}  |`);
    indent += '  ';
    return { isLast, root, children, next: 0 };
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
    indent = indent.slice(0, -2);
    // The last leaf of a branch is followed by a line holding only the indentation.
    if (top.children.length === 0 && top.isLast) lines.push(indent);
    if (!top.root) indent = indent.slice(0, -2);
  }
  return lines.map((line) => `${line}\n`).join('');
}
