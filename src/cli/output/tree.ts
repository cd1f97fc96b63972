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

/** Draws the subtree rooted at `entries[rootIndex]`, as vshTreePrint does. */
export function formatTree(entries: readonly TreeEntry[], rootIndex: number): string {
  let out = '';
  let indent = '';
  const walk = (index: number, lastIndex: number, root: boolean): void => {
    const name = entries[index].name;
    out += `${indent}${root ? '' : '+- '}${name}\n`;
    if (!root) indent += `${index === lastIndex ? ' ' : '|'} `;
    let nextLast = -1;
    entries.forEach((e, i) => { if (e.parent !== undefined && e.parent === name) nextLast = i; });
    if (nextLast !== -1) out += `${indent}  |\n`;
    indent += '  ';
    entries.forEach((e, i) => {
      if (e.parent !== undefined && e.parent === name) walk(i, nextLast, false);
    });
    indent = indent.slice(0, -2);
    if (nextLast === -1 && index === lastIndex) out += `${indent}\n`;
    if (!root) indent = indent.slice(0, -2);
  };
  walk(rootIndex, rootIndex, true);
  return out;
}
