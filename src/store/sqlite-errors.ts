/**
 * Maps better-sqlite3 errors to VirError, so callers never see a raw SqliteError.
 * Constraint violations mean a caller skipped a check it should have made (the schema is
 * the last line of defence), hence internal errors naming the constraint.
 */
import Database from 'better-sqlite3';
import { VirError, VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';

/** Runs `fn`, rethrowing SQLite errors as VirError with `what` as context. */
export function withSqliteErrors<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toVirError(what, err);
  }
}

/** Converts any error thrown by better-sqlite3 into a VirError (VirErrors pass through). */
export function toVirError(what: string, err: unknown): unknown {
  if (err instanceof VirError) return err;
  if (err instanceof Database.SqliteError) {
    if (err.code.startsWith('SQLITE_CONSTRAINT')) {
      return virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE,
        `state database constraint violated while ${what}: ${err.message}`);
    }
    if (err.code === 'SQLITE_BUSY' || err.code.startsWith('SQLITE_BUSY_')) {
      return virError(VirErrorCode.RESOURCE_BUSY, VirErrorDomain.NONE,
        `state database is locked by another process while ${what}`);
    }
    if (err.code === 'SQLITE_READONLY' || err.code.startsWith('SQLITE_READONLY_')) {
      return virError(VirErrorCode.OPERATION_DENIED, VirErrorDomain.NONE,
        `state database is read-only while ${what}: ${err.message}`);
    }
    return virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE,
      `state database error while ${what}: ${err.message} (${err.code})`);
  }
  return err;
}
