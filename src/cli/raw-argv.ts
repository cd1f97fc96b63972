/**
 * The command line's arguments as the bytes they were. Node decodes process.argv as UTF-8
 * with replacement characters, so a byte that is not UTF-8 would silently become U+FFFD
 * (a snapshot named `bad\uFFFD`, where virsh hands the byte to libxml2, which refuses it).
 * On Linux /proc/self/cmdline holds the bytes; each argument that lost some is taken from
 * there with its bad bytes escaped (conf/utf8-bytes.ts).
 */
import { readFileSync } from 'node:fs';
import { decodeUtf8Escaped } from '../conf/utf8-bytes.js';

/** `argv` (the arguments after the script) with bytes that are not UTF-8 kept; `argv` itself when none was lost. */
export function argvAsGiven(argv: readonly string[]): string[] {
  if (!argv.some((arg) => arg.includes('\uFFFD'))) return [...argv];
  let cmdline: Buffer;
  try {
    cmdline = readFileSync('/proc/self/cmdline');
  } catch {
    return [...argv]; // not Linux: the decoded arguments are all there is
  }
  const words: Buffer[] = [];
  for (let start = 0; start < cmdline.length;) {
    const end = cmdline.indexOf(0, start);
    words.push(cmdline.subarray(start, end < 0 ? cmdline.length : end));
    start = end < 0 ? cmdline.length : end + 1;
  }
  // The script's arguments are the last ones (node's own options and the script come first).
  const tail = words.slice(words.length - argv.length);
  if (tail.length !== argv.length || tail.some((word, k) => word.toString('utf8') !== argv[k])) return [...argv];
  return tail.map((word) => decodeUtf8Escaped(word));
}
