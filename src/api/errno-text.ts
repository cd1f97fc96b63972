/**
 * strerror(3) texts for the errno codes file work meets, so our messages read like
 * libvirt's virReportSystemError ("…: Read-only file system"); Node 20 has no strerror.
 * The one table for the library, the drivers and the CLI.
 */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EIO: 'Input/output error',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
  EBUSY: 'Device or resource busy',
  EAGAIN: 'Resource temporarily unavailable',
  EINVAL: 'Invalid argument',
  EMFILE: 'Too many open files',
  EXDEV: 'Invalid cross-device link',
  EOVERFLOW: 'Value too large for defined data type',
  ENXIO: 'No such device or address',
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EPIPE: 'Broken pipe',
};

/** The text of errno `code` as strerror prints it. */
export function strerror(code: string | undefined): string {
  return (code && STRERROR[code]) ?? code ?? 'Unknown error';
}

/** The strerror text for a Node system error (by its `code`), else its message. */
export function errnoText(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && STRERROR[code]) return STRERROR[code]!;
  return err instanceof Error ? err.message : String(err);
}

/** The errno code name (ENOENT…) of a Node system error, if it has one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
