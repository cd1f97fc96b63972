/**
 * `snapvirt -r` / `connect --readonly`: a read-only view of a connection. libvirt refuses
 * every mutating call on a read-only connection with VIR_ERR_OPERATION_DENIED
 * ("operation forbidden: read only access prevents virDomainDestroy") and refuses the
 * SECURE flag on XML dumps; the API has no read-only mode, so the shell wraps the handles
 * it is given and refuses those calls the same way, before they reach the driver.
 */
import { Connection } from '../api/connection.js';
import { Domain } from '../api/domain.js';
import { DomainSnapshot } from '../api/domain-snapshot.js';
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';

type Refusal = (args: readonly unknown[]) => string | null;

const prevents = (api: string): string => `read only access prevents ${api}`;
const flagsOf = (args: readonly unknown[]): number => (typeof args[0] === 'number' ? args[0] : 0);
const secure = (api: string): Refusal => (args) => ((flagsOf(args) & 1) !== 0 ? `${api} with secure flag` : null);

/** The mutating calls of each handle, with the libvirt function virsh would have called. */
const REFUSALS: ReadonlyMap<object, Record<string, Refusal>> = new Map<object, Record<string, Refusal>>([
  [Connection.prototype, {
    domainDefineXML: (a) => prevents(flagsOf(a.slice(1)) ? 'virDomainDefineXMLFlags' : 'virDomainDefineXML'),
    domainCreateXML: () => prevents('virDomainCreateXML'),
  }],
  [Domain.prototype, {
    create: (a) => prevents(flagsOf(a) ? 'virDomainCreateWithFlags' : 'virDomainCreate'),
    destroy: (a) => prevents(flagsOf(a) ? 'virDomainDestroyFlags' : 'virDomainDestroy'),
    shutdown: (a) => prevents(flagsOf(a) ? 'virDomainShutdownFlags' : 'virDomainShutdown'),
    suspend: () => prevents('virDomainSuspend'),
    resume: () => prevents('virDomainResume'),
    undefine: () => prevents('virDomainUndefineFlags'),
    snapshotCreateXML: () => prevents('virDomainSnapshotCreateXML'),
    qemuMonitorCommand: () => prevents('virDomainQemuMonitorCommand'),
    revertToSnapshot: () => prevents('virDomainRevertToSnapshot'),
    getXMLDesc: secure('virDomainGetXMLDesc'),
  }],
  [DomainSnapshot.prototype, {
    revert: () => prevents('virDomainRevertToSnapshot'),
    delete: () => prevents('virDomainSnapshotDelete'),
    getXMLDesc: secure('virDomainSnapshotGetXMLDesc'),
  }],
]);

function refusalsFor(target: object): Record<string, Refusal> {
  return REFUSALS.get(Object.getPrototypeOf(target) as object) ?? {};
}

/** Wraps handles in a result (a handle, an array of them, or a promise of either). */
function guardResult(value: unknown): unknown {
  if (value instanceof Promise) return value.then(guardResult);
  if (Array.isArray(value)) return value.map(guardResult);
  if (value instanceof Domain || value instanceof DomainSnapshot || value instanceof Connection) return guard(value);
  return value;
}

function guard<T extends object>(handle: T): T {
  const refusals = refusalsFor(handle);
  return new Proxy(handle, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const method = value as (...args: unknown[]) => unknown;
      const refusal = refusals[prop];
      return (...args: unknown[]): unknown => {
        const reason = refusal?.(args) ?? null;
        if (reason !== null) return Promise.reject(virError(VirErrorCode.OPERATION_DENIED, VirErrorDomain.NONE, reason));
        return guardResult(method.apply(target, args));
      };
    },
  });
}

/** A read-only view of `conn`: every handle reached through it refuses libvirt's mutating calls. */
export function readOnlyConnection(conn: Connection): Connection {
  return guard(conn);
}
