/**
 * `npm run docs`: writes docs/api/index.md, the API reference, from the doc comments of
 * everything `import ... from 'snapvirt'` exports (src/index.ts), read with the TypeScript
 * compiler. Members marked @internal are left out, as the published .d.ts leaves them out.
 * A public symbol or member without a doc comment is an error: the reference would have a
 * hole. test/package/api-reference.test.ts fails when docs/api/index.md is not current.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const REFERENCE_FILE = `${ROOT}docs/api/index.md`;

/** A symbol's doc comment as one paragraph of Markdown. */
function docOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).replace(/\{@link ([^}]+)\}/g, '`$1`').trim();
}

function isInternal(symbol: ts.Symbol): boolean {
  return symbol.getJsDocTags().some((tag) => tag.name === 'internal');
}

function isPublicMember(symbol: ts.Symbol): boolean {
  if (symbol.name.startsWith('#') || symbol.name === 'prototype' || isInternal(symbol)) return false;
  // Members inherited from the standard library (Error's message, stack, …) are its to document.
  if (symbol.declarations?.every((d) => d.getSourceFile().isDeclarationFile)) return false;
  const modifiers = symbol.declarations?.flatMap((d) => (ts.canHaveModifiers(d) ? ts.getModifiers(d) ?? [] : [])) ?? [];
  return !modifiers.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);
}

/** Reads src/index.ts's exports and renders the reference; `missing` collects undocumented names. */
export function renderReference(missing: string[] = []): string {
  const entry = `${ROOT}src/index.ts`;
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, types: ['node'], lib: ['lib.es2023.d.ts'], noEmit: true,
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;
  const sections: string[] = [];
  const documented = (name: string, doc: string): string => {
    if (!doc) missing.push(name);
    return doc;
  };

  const exported = checker.getExportsOfModule(moduleSymbol)
    .map((alias) => ({ name: alias.name, symbol: alias.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(alias) : alias }))
    .sort((a, b) => a.name.localeCompare(b.name));

  for (const { name, symbol } of exported) {
    const declaration = symbol.declarations?.[0];
    if (!declaration) continue;
    const lines = [`## ${name}`, ''];
    const doc = documented(name, docOf(symbol, checker));
    if (ts.isClassDeclaration(declaration)) {
      lines.push('*class*', '', doc, '');
      const instance = checker.getDeclaredTypeOfSymbol(symbol);
      const members = [...checker.getPropertiesOfType(instance)].filter(isPublicMember);
      for (const member of members.sort((a, b) => memberOrder(a) - memberOrder(b))) {
        const type = checker.getTypeOfSymbolAtLocation(member, declaration);
        const signatures = type.getCallSignatures();
        const heading = member.name.startsWith('__@') ? `[Symbol.${member.name.slice(3).replace(/@\d+$/, '')}]` : member.name;
        const text = signatures.length
          ? signatures.map((s) => `${heading}${checker.signatureToString(s, undefined, flags)}`).join('\n')
          : `${heading}: ${checker.typeToString(type, undefined, flags)}`;
        lines.push(`### ${name}.${heading}`, '', '```ts', text, '```', '', documented(`${name}.${heading}`, docOf(member, checker)), '');
      }
    } else if (ts.isFunctionDeclaration(declaration)) {
      const signatures = checker.getTypeOfSymbolAtLocation(symbol, declaration).getCallSignatures();
      lines.push('*function*', '', '```ts', ...signatures.map((s) => `function ${name}${checker.signatureToString(s, undefined, flags)}`), '```', '', doc, '');
    } else if (ts.isVariableDeclaration(declaration)) {
      const type = checker.getTypeOfSymbolAtLocation(symbol, declaration);
      lines.push('*constant*', '', doc, '');
      const initializer = declaration.initializer;
      const table = initializer && (ts.isObjectLiteralExpression(initializer) ? initializer
        : ts.isAsExpression(initializer) && ts.isObjectLiteralExpression(initializer.expression) ? initializer.expression
        : ts.isCallExpression(initializer) ? initializer.arguments.find(ts.isObjectLiteralExpression) : undefined);
      if (table) {
        lines.push('| Name | Value |', '|---|---|');
        for (const property of table.properties) {
          if (ts.isPropertyAssignment(property)) lines.push(`| \`${property.name.getText()}\` | \`${property.initializer.getText()}\` |`);
        }
        lines.push('');
      } else {
        lines.push('```ts', `const ${name}: ${checker.typeToString(type, undefined, flags)}`, '```', '');
      }
    } else if (ts.isInterfaceDeclaration(declaration) || ts.isTypeAliasDeclaration(declaration)) {
      const kind = ts.isInterfaceDeclaration(declaration) ? 'interface' : 'type';
      lines.push(`*${kind}*`, '', doc, '', '```ts', declaration.getText().replace(/\/\*\*[\s\S]*?\*\/\s*/g, '').replace(/^export (declare )?/, ''), '```', '');
    } else {
      lines.push(doc, '');
    }
    sections.push(lines.join('\n'));
  }
  return [
    '# snapvirt API reference',
    '',
    'Generated by `npm run docs` (scripts/api-reference.ts) from the doc comments of what',
    "`import ... from 'snapvirt'` exports; do not edit by hand. A guide: [../library.md](../library.md).",
    '',
    ...exported.map(({ name }) => `- [${name}](#${name.toLowerCase()})`),
    '',
    ...sections,
  ].join('\n').replace(/\n{3,}/g, '\n\n');
}

/** Source order of a member (declaration position), so the reference reads as the class does. */
function memberOrder(symbol: ts.Symbol): number {
  return symbol.declarations?.[0]?.getStart() ?? 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const missing: string[] = [];
  const text = renderReference(missing);
  if (missing.length) {
    process.stderr.write(`undocumented public symbols: ${missing.join(', ')}\n`);
    process.exitCode = 1;
  } else {
    writeFileSync(REFERENCE_FILE, text);
  }
}
