/**
 * Exports that no other file imports. An export is a promise to other files; one nobody takes up
 * is either dead code or a name that belongs to its own file, and it hides from the unused-locals
 * check because the compiler counts an export as used. Only parses (no type check), so the whole
 * tree takes about a second.
 *
 * Taken counts: a named import or re-export; a namespace import, `export *`, a literal dynamic
 * `import('./x.ts')` or `new URL('./x.ts', import.meta.url)` (a module handed to a loader) take
 * every name. A module path the code computes at run time is not seen.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

interface DeadExport {
  /** Relative to the root, with forward slashes. */
  file: string;
  name: string;
  line: number;
  /** Whether the file itself uses the name (then only the `export` goes, not the code). */
  usedInFile: boolean;
}

interface ModuleFacts {
  exports: { name: string; line: number; usedInFile: boolean }[];
  /** Resolved path -> names taken from it ('*' for all: a namespace or dynamic import, `export *`). */
  imports: Map<string, Set<string>>;
}

function isExported(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

function isModuleUrl(node: ts.Node): node is ts.NewExpression {
  if (!ts.isNewExpression(node) || !ts.isIdentifier(node.expression) || node.expression.text !== 'URL') return false;
  const first = node.arguments?.[0];
  return first !== undefined && ts.isStringLiteralLike(first) && first.text.endsWith('.ts');
}

function bindingNames(name: ts.BindingName): ts.Identifier[] {
  if (ts.isIdentifier(name)) return [name];
  return name.elements.flatMap((element) => (ts.isOmittedExpression(element) ? [] : bindingNames(element.name)));
}

/** Pure: what one file exports and what it takes from which relative module. */
function moduleFacts(path: string, text: string): ModuleFacts {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const imports = new Map<string, Set<string>>();
  const take = (specifier: ts.Expression | undefined, names: readonly string[]) => {
    if (specifier === undefined || !ts.isStringLiteralLike(specifier) || !specifier.text.startsWith('.')) return;
    const target = resolve(dirname(path), specifier.text);
    const set = imports.get(target) ?? new Set<string>();
    for (const name of names) set.add(name);
    imports.set(target, set);
  };
  const identifierCounts = new Map<string, number>();
  const declared: { node: ts.Node; name: string }[] = [];

  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) identifierCounts.set(node.text, (identifierCounts.get(node.text) ?? 0) + 1);
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const names: string[] = [];
      if (clause?.name !== undefined) names.push('default');
      const bindings = clause?.namedBindings;
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) names.push('*');
      if (bindings !== undefined && ts.isNamedImports(bindings))
        for (const element of bindings.elements) names.push((element.propertyName ?? element.name).text);
      take(node.moduleSpecifier, names);
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      if (node.moduleSpecifier !== undefined) {
        if (clause === undefined || ts.isNamespaceExport(clause)) take(node.moduleSpecifier, ['*']);
        else
          take(
            node.moduleSpecifier,
            clause.elements.map((e) => (e.propertyName ?? e.name).text),
          );
      }
      if (clause !== undefined && ts.isNamedExports(clause))
        for (const element of clause.elements) declared.push({ node: element, name: element.name.text });
    } else if (ts.isExportAssignment(node)) {
      declared.push({ node, name: 'default' });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      take(node.arguments[0], ['*']);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      take(node.argument.literal, ['*']);
    } else if (isModuleUrl(node)) {
      // new URL('./hooks.ts', import.meta.url): a module handed to a loader (module.register, a worker)
      take(node.arguments?.[0], ['*']);
    } else if (node.parent === source && isExported(node)) {
      if (ts.isVariableStatement(node)) {
        for (const declaration of node.declarationList.declarations)
          for (const id of bindingNames(declaration.name)) declared.push({ node: id, name: id.text });
      } else {
        const name = (node as ts.DeclarationStatement).name;
        if (name !== undefined && ts.isIdentifier(name)) declared.push({ node: name, name: name.text });
      }
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(source, (node) => {
    // parent links without the cost of setParentNodes on every node
    (node as { parent: ts.Node }).parent = source;
    visit(node);
  });

  const exports = declared.map(({ node, name }) => ({
    name,
    line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
    // the declaration's own name is one occurrence; `export { a as b }` names the local a
    usedInFile: (identifierCounts.get(name) ?? 0) > 1,
  }));
  return { exports, imports };
}

/** Pure over the file texts: every export of `files` (absolute paths) that no other file takes. */
export function deadExports(root: string, files: readonly string[], read = (f: string) => readFileSync(f, 'utf8')) {
  const facts = new Map(files.map((file) => [file, moduleFacts(file, read(file))]));
  const taken = new Map<string, Set<string>>();
  for (const { imports } of facts.values())
    for (const [target, names] of imports) {
      const set = taken.get(target) ?? new Set<string>();
      for (const name of names) set.add(name);
      taken.set(target, set);
    }
  const dead: DeadExport[] = [];
  for (const [file, { exports }] of facts) {
    const names = taken.get(file);
    if (names?.has('*')) continue;
    const path = relative(root, file).split('\\').join('/');
    for (const entry of exports) {
      if (names?.has(entry.name)) continue;
      dead.push({ file: path, ...entry });
    }
  }
  return dead;
}

/** Pure: the declaration line without its `export` keyword, or undefined when it is not `export <declaration> <name>`. */
export function withoutExportKeyword(line: string, name: string): string | undefined {
  const declaration =
    /^export ((async )?function\*? |const |let |interface |type |class |abstract class |enum )(\w+)\b/.exec(line);
  return declaration?.[3] === name ? line.slice('export '.length) : undefined;
}

/**
 * Drops the keyword from every export that only its own file uses (the mechanical part of the
 * clean-up); returns the dead exports left for a person: unused code, and re-export lists.
 */
export function fixDeadExports(root: string, files: readonly string[]): DeadExport[] {
  const left: DeadExport[] = [];
  const byFile = Map.groupBy(deadExports(root, files), (d) => d.file);
  for (const [file, dead] of byFile) {
    const path = resolve(root, file);
    const lines = readFileSync(path, 'utf8').split('\n');
    for (const entry of dead) {
      const fixed = entry.usedInFile ? withoutExportKeyword(lines[entry.line - 1] ?? '', entry.name) : undefined;
      if (fixed === undefined) left.push(entry);
      else lines[entry.line - 1] = fixed;
    }
    writeFileSync(path, lines.join('\n'));
  }
  return left;
}

/** One lint line per dead export. */
export function deadExportFinding(d: DeadExport): string {
  return `${d.file}:${d.line}: export ${d.name} is imported nowhere; ${d.usedInFile ? 'drop the export keyword' : 'remove it'}`;
}
