/**
 * Generates a libvirt test-driver node file (test:///ABS/PATH.xml) with one shut-off
 * domain carrying `count` `<test:domainsnapshot>` entries, so virsh and snapvirt load the
 * same metadata. Each snapshot holds a small `<domain>`: without it libvirt logs a
 * "parsing older snapshot that lacks domain" warning per snapshot, which would time the
 * log instead of the tree.
 */

/** deep: s1 ← s2 ← … (a chain); wide: s1 is the parent of all the others. */
export type TreeShape = 'deep' | 'wide';

/** The domain name in generated files. */
export const BIG_DOMAIN = 'big';

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';

function domainXml(): string {
  return `<domain type='test'><name>${BIG_DOMAIN}</name><uuid>${UUID}</uuid><memory unit='KiB'>8192</memory>` +
    `<vcpu>1</vcpu><os><type arch='i686'>hvm</type></os></domain>`;
}

/** The name of snapshot `i` (1-based). */
export function snapName(i: number): string {
  return `s${i}`;
}

/** The parent of snapshot `i` in a tree of the given shape. */
export function parentOf(i: number, shape: TreeShape): number | undefined {
  if (i === 1) return undefined;
  return shape === 'deep' ? i - 1 : 1;
}

/**
 * The node file text; snapshot `count` is current. `withDomain: false` leaves the
 * `<domain>` out of each snapshot: 7 elements per snapshot instead of 14 (libvirt then
 * logs one warning per snapshot).
 */
export function testNodeFileXml(count: number, shape: TreeShape, withDomain = true): string {
  const dom = withDomain ? domainXml() : '';
  const parts: string[] = [
    '<node>',
    `<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>`,
    `  <name>${BIG_DOMAIN}</name>`,
    `  <uuid>${UUID}</uuid>`,
    `  <memory unit='KiB'>8192</memory>`,
    '  <vcpu>1</vcpu>',
    `  <os><type arch='i686'>hvm</type></os>`,
    '  <test:runstate>5</test:runstate>',
  ];
  for (let i = 1; i <= count; i++) {
    const parent = parentOf(i, shape);
    parts.push(
      '  <test:domainsnapshot>',
      `    <name>${snapName(i)}</name><state>shutoff</state>` +
      (parent === undefined ? '' : `<parent><name>${snapName(parent)}</name></parent>`) +
      `<creationTime>${1_700_000_000 + i}</creationTime>`,
      ...(dom ? [`    ${dom}`] : []),
      `    <active>${i === count ? 1 : 0}</active>`,
      '  </test:domainsnapshot>',
    );
  }
  parts.push('</domain>', '</node>', '');
  return parts.join('\n');
}
