/**
 * Formats foreign XML the way libxml2's xmlNodeDump does, as libvirt prints a domain's
 * `<metadata>` content (the one place it hands a subtree to libxml2 instead of its own
 * formatter): namespace declarations before attributes, double quotes, libxml2's escaping
 * (character references for control and non-ASCII characters in attribute values), two
 * spaces per level, and no added whitespace inside an element that holds text.
 */
import { isElement, type XmlElement, type XmlNode } from './xml-tree.js';

const isNamespaceDeclaration = (name: string): boolean => name === 'xmlns' || name.startsWith('xmlns:');

/** xmlAttrSerializeTxtContent's escaping. */
function escapeAttribute(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '&') out += '&amp;';
    else if (ch === '"') out += '&quot;';
    else if (ch === '\n') out += '&#10;';
    else if (ch === '\r') out += '&#13;';
    else if (ch === '\t') out += '&#9;';
    else if (code >= 0x80) out += `&#x${code.toString(16).toUpperCase()};`;
    else out += ch;
  }
  return out;
}

/** Text content: markup characters and carriage returns escaped; the rest (UTF-8) as is. */
function escapeText(value: string): string {
  return value.replace(/[<>&\r]/g, (ch) => (ch === '<' ? '&lt;' : ch === '>' ? '&gt;' : ch === '&' ? '&amp;' : '&#13;'));
}

function openTag(el: XmlElement): string {
  const ordered = [...el.attrs.filter(([n]) => isNamespaceDeclaration(n)), ...el.attrs.filter(([n]) => !isNamespaceDeclaration(n))];
  return `<${el.name}${ordered.map(([n, v]) => ` ${n}="${escapeAttribute(v)}"`).join('')}`;
}

function inline(node: XmlNode): string {
  if (!isElement(node)) return escapeText(node.text);
  if (node.children.length === 0) return `${openTag(node)}/>`;
  return `${openTag(node)}>${node.children.map(inline).join('')}</${node.name}>`;
}

/** `el` at `indent` spaces, ending with a newline. */
export function formatLibxmlElement(el: XmlElement, indent: number): string {
  const pad = ' '.repeat(indent);
  if (el.children.length === 0) return `${pad}${openTag(el)}/>\n`;
  if (el.children.some((c) => !isElement(c))) return `${pad}${inline(el)}\n`;
  const inner = el.children.map((c) => formatLibxmlElement(c as XmlElement, indent + 2)).join('');
  return `${pad}${openTag(el)}>\n${inner}${pad}</${el.name}>\n`;
}
