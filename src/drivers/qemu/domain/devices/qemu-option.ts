/**
 * Small helpers every device family shares: QEMU's option escaping, the JSON form of
 * -device/-netdev/-object (as libvirt 9.0 passes them: no escaping problems with any
 * path), libvirt's "unsupported configuration" refusal naming the element, and a guard
 * that refuses child elements and attributes a family does not honour, so nothing in a
 * definition is silently dropped.
 */
import { virError, VirErrorCode, VirErrorDomain, type VirError } from '../../../../api/errors.js';
import { attrValue, childElements, type XmlElement } from '../../../../conf/xml-tree.js';

/** A -device/-netdev/-object property bag, printed as JSON. */
export type QemuProps = Record<string, string | number | boolean>;

/** QEMU's option syntax: a literal comma inside a value is written twice. */
export function escapeOpt(value: string): string {
  return value.replace(/,/g, ',,');
}

/** The JSON form of a -netdev or -object argument. */
export function qemuJson(props: QemuProps): string {
  return JSON.stringify(props);
}

/**
 * The key=value form of a -device argument (`driver,k=v,…`, booleans on/off, commas
 * doubled). Every -device uses this one form: QEMU 7.2 creates key=value devices before
 * JSON ones, and the command-line order is what places devices on their buses.
 */
export function deviceArg(props: QemuProps): string {
  const { driver, ...rest } = props;
  const value = (v: string | number | boolean): string => (typeof v === 'boolean' ? (v ? 'on' : 'off') : escapeOpt(String(v)));
  return [value(driver ?? ''), ...Object.entries(rest).map(([k, v]) => `${k}=${value(v)}`)].join(',');
}

/** VIR_ERR_CONFIG_UNSUPPORTED with `detail` ("unsupported configuration: …"). */
export function unsupportedConfig(detail: string): VirError {
  return virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU, detail);
}

/** How an element is named in a refusal: its name and its type and model attributes (else name or dev), as written. */
export function elementLabel(el: XmlElement): string {
  let keys = ['type', 'model'].filter((a) => attrValue(el, a) !== undefined);
  if (keys.length === 0) keys = ['name', 'dev'].filter((a) => attrValue(el, a) !== undefined).slice(0, 1);
  return `<${[el.name, ...keys.map((k) => `${k}='${attrValue(el, k) ?? ''}'`)].join(' ')}>`;
}

/** The refusal of an element snapvirt does not honour: "<sound model='ich9'> is not supported by snapvirt". */
export function notHonoured(el: XmlElement, where?: XmlElement): VirError {
  const inside = where ? ` in ${elementLabel(where)}` : '';
  return unsupportedConfig(`${elementLabel(el)}${inside} is not supported by snapvirt`);
}

/** Refuses any child element of `el` whose name is not in `allowed`. */
export function refuseOtherChildren(el: XmlElement, allowed: readonly string[]): void {
  for (const child of childElements(el)) {
    if (!allowed.includes(child.name)) throw notHonoured(child, el);
  }
}

/** Refuses any attribute of `el` not in `allowed` ("attribute 'x' of <e> is not supported by snapvirt"). */
export function refuseOtherAttributes(el: XmlElement, allowed: readonly string[]): void {
  for (const [name] of el.attrs) {
    if (!allowed.includes(name)) {
      throw unsupportedConfig(`attribute '${name}' of ${elementLabel(el)} is not supported by snapvirt`);
    }
  }
}

/** An attribute parsed as an integer (decimal or 0x hex, as libvirt accepts), or undefined. */
export function intAttr(el: XmlElement, name: string): number | undefined {
  const text = attrValue(el, name);
  if (text === undefined) return undefined;
  const value = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text, 16) : /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN, `Invalid value for attribute '${name}' in element '${el.name}': '${text}'.`);
  }
  return value;
}
