/**
 * virDomainObjListAdd's name and UUID checks, as the test driver's define, create and node
 * file loading make them.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import type { DomainDef } from '../../conf/domain-types.js';
import type { TestDomainObj } from './test-domain-obj.js';

/**
 * The same name with another UUID, or the same UUID with another name, is refused; the
 * same name and UUID returns the existing domain (which the caller redefines or starts).
 */
export function clashCheck(domains: readonly TestDomainObj[], def: DomainDef): TestDomainObj | undefined {
  const byUuid = domains.find((d) => d.uuid.toLowerCase() === def.uuid.toLowerCase());
  if (byUuid) {
    if (byUuid.name !== def.name) {
      throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN,
        `domain '${byUuid.name}' is already defined with uuid ${byUuid.uuid}`);
    }
    return byUuid;
  }
  const byName = domains.find((d) => d.name === def.name);
  if (byName) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN,
      `domain '${byName.name}' already exists with uuid ${byName.uuid}`);
  }
  return undefined;
}
