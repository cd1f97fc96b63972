/**
 * A minimal, immutable-by-convention XML element tree: what conf/ parses into and formats
 * from. Namespaced names keep their prefix ("test:domainsnapshot") and namespace
 * declarations are ordinary attributes ("xmlns:test"), so a round trip keeps them verbatim.
 * Comments and processing instructions are dropped, as libvirt's own formatter drops them.
 */

/** An element: its qualified name, attributes in document order, and children. */
export interface XmlElement {
  name: string;
  attrs: Array<[string, string]>;
  children: XmlNode[];
}

/** A text node (character data, CDATA already merged in). */
export interface XmlText {
  text: string;
}

/** A node of the tree: an element or a run of text. */
export type XmlNode = XmlElement | XmlText;

/** True when `node` is an element (not text). */
export function isElement(node: XmlNode): node is XmlElement {
  return (node as XmlElement).name !== undefined;
}

/** Builds an element; `children` may mix elements and strings (strings become text nodes). */
export function makeElement(
  name: string,
  attrs: Array<[string, string]> = [],
  children: Array<XmlNode | string> = [],
): XmlElement {
  return { name, attrs, children: children.map((c) => (typeof c === 'string' ? { text: c } : c)) };
}

/**
 * A parsed element from its content as the parser saw it (adjacent text already merged).
 * Blank text between child elements is indentation, which the formatter re-creates; in
 * mixed content (elements and real text) every character is data and is kept.
 */
export function elementFromContent(name: string, attrs: Array<[string, string]>, children: XmlNode[]): XmlElement {
  const hasElementChild = children.some(isElement);
  const hasNonBlankText = children.some((c) => !isElement(c) && c.text.trim() !== '');
  return { name, attrs, children: hasElementChild && !hasNonBlankText ? children.filter(isElement) : children };
}

/** The first child element called `name`, or undefined. */
export function childElement(el: XmlElement, name: string): XmlElement | undefined {
  for (const child of el.children) if (isElement(child) && child.name === name) return child;
  return undefined;
}

/** All child elements, or only those called `name`. */
export function childElements(el: XmlElement, name?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of el.children) {
    if (isElement(child) && (name === undefined || child.name === name)) out.push(child);
  }
  return out;
}

/** The value of attribute `name`, or undefined when absent. */
export function attrValue(el: XmlElement, name: string): string | undefined {
  for (const [key, value] of el.attrs) if (key === name) return value;
  return undefined;
}

/** The concatenated text of `el` and all its descendants (XPath string()). */
export function textContent(el: XmlElement): string {
  let out = '';
  for (const child of el.children) out += isElement(child) ? textContent(child) : child.text;
  return out;
}

/** Sets attribute `name` in place (keeping its position if present, else appending); undefined removes it. */
export function setAttr(el: XmlElement, name: string, value: string | undefined): void {
  const index = el.attrs.findIndex(([key]) => key === name);
  if (value === undefined) {
    if (index >= 0) el.attrs.splice(index, 1);
  } else if (index >= 0) {
    el.attrs[index] = [name, value];
  } else {
    el.attrs.push([name, value]);
  }
}

/** Removes every attribute `name`. */
export function removeAttr(el: XmlElement, name: string): void {
  setAttr(el, name, undefined);
}

/** A deep copy of `el`: mutating the copy never affects the original. */
export function cloneElement(el: XmlElement): XmlElement {
  return {
    name: el.name,
    attrs: el.attrs.map(([k, v]) => [k, v] as [string, string]),
    children: el.children.map((c) => (isElement(c) ? cloneElement(c) : { text: c.text })),
  };
}

/** Replaces the text of `el` with `text` (dropping its children). */
export function setTextContent(el: XmlElement, text: string): void {
  el.children = [{ text }];
}

/**
 * Replaces the first child element called `name` with `replacement` (or removes it when
 * replacement is undefined); appends when absent and a replacement is given.
 */
export function replaceChildElement(el: XmlElement, name: string, replacement: XmlElement | undefined): void {
  const index = el.children.findIndex((c) => isElement(c) && c.name === name);
  if (index >= 0) {
    if (replacement) el.children[index] = replacement;
    else el.children.splice(index, 1);
  } else if (replacement) {
    el.children.push(replacement);
  }
}
