/**
 * Read-only sanity checks of an existing state database file, made before SQLite opens it
 * for writing: a damaged file must produce a clear error and stay byte-for-byte as it was
 * (a read-write open could checkpoint a WAL into it, or a 0-byte file would silently
 * become an empty database and lose every definition).
 */
import { closeSync, fstatSync, openSync, readSync, statSync, constants } from 'node:fs';
import Database from 'better-sqlite3';

const MAGIC = 'SQLite format 3\0';

function hasWalContent(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 0;
  } catch {
    return false;
  }
}

/**
 * Returns why `path` is not a healthy SQLite database, or undefined when it is. The
 * header checks always run; SQLite's quick_check, which reads every page, only with
 * `integrity` (see db-check-stamp.ts for when it may be skipped).
 */
export function diagnoseDatabaseFile(path: string, { integrity = true } = {}): string | undefined {
  const fd = openSync(path, constants.O_RDONLY);
  let size: number;
  const header = Buffer.alloc(100);
  let got: number;
  try {
    size = fstatSync(fd).size;
    got = readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  // snapvirt creates the file with its schema in place (temp + rename), so an empty or
  // short file can only be the result of damage.
  if (size === 0) return 'the file is empty';
  if (got < 100) return `the file is truncated (${size} bytes, shorter than the 100-byte header)`;
  if (header.toString('latin1', 0, 16) !== MAGIC) return 'the file is not an SQLite database (bad header)';
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return `the header has an invalid page size (${rawPageSize})`;
  if (size % pageSize !== 0) return `the file is truncated (${size} bytes is not a whole number of ${pageSize}-byte pages)`;
  const changeCounter = header.readUInt32BE(24);
  const pages = header.readUInt32BE(28);
  const validFor = header.readUInt32BE(92);
  // A non-empty WAL may hold pages a checkpoint had not yet copied when the process died
  // (the header, page 1, is copied first): then the main file may legitimately be short.
  if (validFor === changeCounter && pages * pageSize > size && !hasWalContent(path)) {
    return `the file is truncated (${size} bytes, the header says ${pages} pages of ${pageSize} bytes)`;
  }
  if (!integrity) return undefined;
  let db: Database.Database | undefined;
  try {
    // Read-only: it can neither write the main file nor checkpoint a WAL into it.
    db = new Database(path, { readonly: true, fileMustExist: true });
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (problems.length > 0) return `integrity check failed: ${problems.slice(0, 3).join('; ')}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    db?.close();
  }
  return undefined;
}
