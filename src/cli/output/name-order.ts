/** The order virsh sorts names in when it sorts them itself. */

/** vshStrcasecmp over ASCII, as virsh sorts snapshot and domain names. */
export function compareNamesCaseInsensitive(a: string, b: string): number {
  const la = a.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const lb = b.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return la < lb ? -1 : la > lb ? 1 : 0;
}
