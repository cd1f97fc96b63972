/**
 * The few XPath expressions virsh evaluates on the documents it gets back (snapshot-list's
 * state and time, snapshot-info, list --title), answered from snapvirt's own XML tree so a
 * listing of 10,000 snapshots need not load libxml2 and parse each document twice.
 *
 * Only a strict subset is understood: absolute paths of child steps by name, each with at
 * most one `[@attr='literal']` predicate, and `|` unions of them in a boolean. Anything else
 * (and any string() of an element that has child elements, where whitespace rules differ)
 * returns undefined and the caller asks libxml2, as before. test/cli/xml-simple-path.test.ts
 * holds every answer against libxml2's.
 */
import { attrValue, isElement, textContent, type XmlElement } from '../conf/xml-tree.js';

/** One step: a child element name, optionally with an attribute that must equal a value. */
interface Step {
  name: string;
  attr?: { name: string; value: string };
}

const NAME = '[A-Za-z_][A-Za-z0-9_.-]*';
const STEP = new RegExp(`^(${NAME})(?:\\[@(${NAME})=(?:'([^']*)'|"([^"]*)")\\])?$`);

/** The steps of `/a/b[@c='d']/e`, or undefined outside the subset. */
function compilePath(expr: string): Step[] | undefined {
  const text = expr.trim();
  if (!text.startsWith('/') || text.startsWith('//')) return undefined;
  const steps: Step[] = [];
  for (const part of text.slice(1).split('/')) {
    const m = STEP.exec(part);
    if (!m) return undefined;
    steps.push(m[2] === undefined ? { name: m[1]! } : { name: m[1]!, attr: { name: m[2], value: m[3] ?? m[4]! } });
  }
  return steps;
}

function matches(el: XmlElement, step: Step): boolean {
  return el.name === step.name && (step.attr === undefined || attrValue(el, step.attr.name) === step.attr.value);
}

/** The elements `steps` select under the document whose root is `root`, in document order. */
function select(root: XmlElement, steps: Step[]): XmlElement[] {
  if (steps.length === 0 || !matches(root, steps[0]!)) return [];
  let current = [root];
  for (const step of steps.slice(1)) {
    current = current.flatMap((el) => el.children.filter((c): c is XmlElement => isElement(c) && matches(c, step)));
  }
  return current;
}

/**
 * XPath `string(expr)` over the document: the text of the first selected element, '' when
 * none is selected, or undefined when this module cannot answer it exactly.
 */
export function simpleString(root: XmlElement, expr: string): string | undefined {
  const steps = compilePath(expr);
  if (!steps) return undefined;
  const first = select(root, steps)[0];
  if (!first) return '';
  return first.children.every((c) => !isElement(c)) ? textContent(first) : undefined;
}

/** XPath `boolean(expr)` for a path or a union of paths, or undefined when this module cannot answer it. */
export function simpleBoolean(root: XmlElement, expr: string): boolean | undefined {
  const paths = expr.split('|').map(compilePath);
  if (paths.some((p) => p === undefined)) return undefined;
  return paths.some((steps) => select(root, steps!).length > 0);
}
