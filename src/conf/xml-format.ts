/**
 * Formats an XmlElement tree the way libvirt's virBuffer-based formatters print XML:
 * two-space indentation, single-quoted attributes, `<x/>` for empty elements, text-only
 * elements on one line, and virBufferEscapeString's escaping.
 */
import { formatLibxmlElement } from './xml-format-libxml.js';
import { isElement, type XmlElement } from './xml-tree.js';

/**
 * libvirt's virBufferEscapeString: escapes `< > & ' "`, keeps tab, newline and carriage
 * return, and drops every other control character (XML 1.0 cannot carry them).
 */
export function escapeXml(value: string): string {
  let out = '';
  for (const ch of value) {
    switch (ch) {
      case '<': out += '&lt;'; break;
      case '>': out += '&gt;'; break;
      case '&': out += '&amp;'; break;
      case "'": out += '&apos;'; break;
      case '"': out += '&quot;'; break;
      default:
        if (ch >= ' ' || ch === '\n' || ch === '\t' || ch === '\r') out += ch;
    }
  }
  return out;
}

/** Formats the attributes of `el` as ` name='value'…`. */
export function formatAttributes(el: XmlElement): string {
  let out = '';
  for (const [name, value] of el.attrs) out += ` ${name}='${escapeXml(value)}'`;
  return out;
}

/**
 * Formats `el` at `indent` spaces, ending with a newline. An element whose children mix
 * non-blank text with elements is written on one line without added whitespace, because
 * indentation there would change the text.
 */
export function formatElement(el: XmlElement, indent = 0): string {
  const pad = ' '.repeat(indent);
  const open = `${pad}<${el.name}${formatAttributes(el)}`;
  if (el.children.length === 0) return `${open}/>\n`;
  const elementChildren = el.children.filter(isElement);
  const hasText = el.children.some((c) => !isElement(c));
  if (elementChildren.length === 0 || hasText) {
    return `${open}>${formatInline(el.children)}</${el.name}>\n`;
  }
  let out = `${open}>\n`;
  // A domain's <metadata> holds foreign XML, which libvirt prints through libxml2.
  const formatChild = el.name === 'metadata' ? formatLibxmlElement : formatElement;
  for (const child of elementChildren) out += formatChild(child, indent + 2);
  return `${out}${pad}</${el.name}>\n`;
}

function formatInline(children: XmlElement['children']): string {
  let out = '';
  for (const child of children) {
    if (!isElement(child)) {
      out += escapeXml(child.text);
    } else if (child.children.length === 0) {
      out += `<${child.name}${formatAttributes(child)}/>`;
    } else {
      out += `<${child.name}${formatAttributes(child)}>${formatInline(child.children)}</${child.name}>`;
    }
  }
  return out;
}

/** Formats a whole document rooted at `root` (no XML declaration, as libvirt). */
export function formatXmlDocument(root: XmlElement): string {
  return formatElement(root, 0);
}
