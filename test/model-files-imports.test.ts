// sequential.ts saves through save.ts, and loadModel (which builds a Sequential) imports
// sequential.ts: no module that sequential.ts loads at run time may lead back to it. Type-only
// imports vanish at run time and do not count; dynamic import() does.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

/** The relative modules `file` loads at run time. */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const typesOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (!clause.name && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly)));
      if (!typesOnly) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0])) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.filter((spec) => spec.startsWith('.')).map((spec) => resolve(dirname(file), spec));
}

/** A chain of run-time imports from `start` back to itself, or null. */
function cycleThrough(start: string): string[] | null {
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]): string[] | null => {
    for (const next of runtimeImports(file)) {
      if (next === start) return [...chain, next];
      if (seen.has(next) || !next.endsWith('.ts')) continue;
      seen.add(next);
      const found = walk(next, [...chain, next]);
      if (found) return found;
    }
    return null;
  };
  return walk(start, [start]);
}

describe('model module imports', () => {
  it('nothing sequential.ts loads at run time imports it back', () => {
    const cycle = cycleThrough(resolve(SRC, 'model/sequential.ts'));
    expect(cycle?.map((f) => f.slice(SRC.length + 1)).join(' → ') ?? null).toBeNull();
  });

  it('sequential.ts imports the save side statically', () => {
    expect(runtimeImports(resolve(SRC, 'model/sequential.ts'))).toContain(resolve(SRC, 'model/save.ts'));
  });
});
