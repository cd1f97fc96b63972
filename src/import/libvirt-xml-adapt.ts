/**
 * The one change import-libvirt makes to libvirt's XML: libvirt 9.0 writes
 * `<audio id='1' type='none'/>` into every QEMU domain it defines (no audio backend), an
 * element snapvirt's QEMU driver does not list and so refuses at define and redefine.
 * snapvirt runs QEMU without audio, which is what type='none' asks for, so dropping that
 * element (and only that type) keeps the definition's meaning; any other audio backend is
 * left in and refused by define with the element named.
 */
import { VirErrorDomain } from '../api/errors.js';
import { formatElement } from '../conf/xml-format.js';
import { parseXmlDocument, prepareXmlInput } from '../conf/xml-parse.js';
import { attrValue, childElement, isElement, type XmlElement } from '../conf/xml-tree.js';

/** Removes the `<audio type='none'>` children of `domain`'s `<devices>`; true when one was there. */
function dropSilentAudio(domain: XmlElement | undefined): boolean {
  const devices = domain && childElement(domain, 'devices');
  if (!devices) return false;
  const kept = devices.children.filter((c) => !(isElement(c) && c.name === 'audio' && attrValue(c, 'type') === 'none'));
  const dropped = kept.length !== devices.children.length;
  devices.children = kept;
  return dropped;
}

/**
 * libvirt's `<domain>` or `<domainsnapshot>` XML (with its embedded domains) without
 * libvirt's silent audio backend; the text unchanged when it has none.
 */
export async function withoutSilentAudio(xml: string): Promise<string> {
  await prepareXmlInput(xml);
  const root = parseXmlDocument(xml, '(libvirt_import)', VirErrorDomain.DOMAIN);
  const domains = root.name === 'domainsnapshot' ? [childElement(root, 'domain'), childElement(root, 'inactiveDomain')] : [root];
  let dropped = false;
  for (const domain of domains) dropped = dropSilentAudio(domain) || dropped;
  return dropped ? formatElement(root) : xml;
}
