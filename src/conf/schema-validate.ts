/**
 * Validation against libvirt's RelaxNG schemas, as VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE and
 * `virsh define --validate` do (virXMLValidateAgainstSchema), with libvirt's error text.
 * The schema is compiled once, on first use; its `<include>`s are read through an input
 * provider limited to the schema directory.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { ErrorDetail, RelaxNGValidator, XmlDocument } from 'libxml2-wasm';
import { VirError, VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import { loadedXmlLibrary, parseXmlDocument } from './xml-parse.js';

/** Which libvirt schema to validate against (/usr/share/libvirt/schemas/<name>.rng). */
export type LibvirtSchema = 'domainsnapshot' | 'domain';

/** Where libvirt-clients installs the schemas. */
export const LIBVIRT_SCHEMA_DIR = '/usr/share/libvirt/schemas';

const validators = new Map<LibvirtSchema, RelaxNGValidator>();
let providerRegistered = false;

/** Lets libxml2 follow `<include href='domaincommon.rng'/>` by reading files in the schema directory only. */
function registerSchemaProvider(): void {
  if (providerRegistered) return;
  providerRegistered = true;
  loadedXmlLibrary().xmlRegisterInputProvider({
    match: (filename) => filename.startsWith(`${LIBVIRT_SCHEMA_DIR}/`) && !filename.includes('..'),
    open: (filename) => {
      try {
        return openSync(filename, 'r');
      } catch {
        return undefined;
      }
    },
    read: (fd, buf) => {
      try {
        return readSync(fd, buf, 0, buf.byteLength, null);
      } catch {
        return -1;
      }
    },
    close: (fd) => {
      try {
        closeSync(fd);
        return true;
      } catch {
        return false;
      }
    },
  });
}

function schemaPath(schema: LibvirtSchema): string {
  return `${LIBVIRT_SCHEMA_DIR}/${schema}.rng`;
}

function validatorFor(schema: LibvirtSchema): RelaxNGValidator {
  const cached = validators.get(schema);
  if (cached) return cached;
  registerSchemaProvider();
  const path = schemaPath(schema);
  let rngDoc: XmlDocument | undefined;
  try {
    // Parsing by URL (through the provider) gives the includes their base directory.
    const fd = openSync(path, 'r');
    closeSync(fd);
    rngDoc = loadedXmlLibrary().XmlDocument.fromString(`<?xml version="1.0"?>\n<grammar xmlns="http://relaxng.org/ns/structure/1.0"><include href="${path}"/></grammar>`, {
      url: `${LIBVIRT_SCHEMA_DIR}/`,
    });
    const validator = loadedXmlLibrary().RelaxNGValidator.fromDoc(rngDoc);
    validators.set(schema, validator);
    return validator;
  } catch (err) {
    throw virError(
      VirErrorCode.INTERNAL_ERROR,
      VirErrorDomain.XML,
      `Unable to create RNG validator for schema ${path}: ${err instanceof Error ? err.message.trim() : String(err)}`,
    );
  } finally {
    rngDoc?.dispose();
  }
}

function detailsOf(err: unknown): ErrorDetail[] {
  const details = (err as { details?: unknown }).details;
  return Array.isArray(details) ? (details as ErrorDetail[]) : [];
}

/**
 * Throws libvirt's VIR_ERR_XML_INVALID_SCHEMA error when `xml` does not validate:
 * "Unable to validate doc against <rng>" followed by libxml2's messages, one a line.
 * Malformed XML fails as it would when parsed (VIR_ERR_XML_DETAIL).
 */
export function validateAgainstSchema(xml: string, schema: LibvirtSchema): void {
  // Our own parser first: it refuses hostile input and words syntax errors as libvirt does.
  parseXmlDocument(xml, schema === 'domain' ? '(domain_definition)' : '(domain_snapshot)',
    schema === 'domain' ? VirErrorDomain.DOMAIN : VirErrorDomain.DOMAIN_SNAPSHOT);
  const validator = validatorFor(schema);
  const lib = loadedXmlLibrary();
  const doc = lib.XmlDocument.fromString(xml, { option: lib.ParseOption.XML_PARSE_IGNORE_ENC });
  try {
    validator.validate(doc);
  } catch (err) {
    if (err instanceof VirError) throw err;
    const lines = detailsOf(err).map((d) => d.message.replace(/\n$/, ''));
    const body = lines.length > 0 ? lines.join('\n') : (err instanceof Error ? err.message.trim() : String(err));
    throw virError(
      VirErrorCode.XML_INVALID_SCHEMA,
      VirErrorDomain.XML,
      `Unable to validate doc against ${schemaPath(schema)}\n${body}\n`,
    );
  } finally {
    doc.dispose();
  }
}
