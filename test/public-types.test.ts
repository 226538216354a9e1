import { join } from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';

const root = join(__dirname, '..');
const LIB = join(root, 'lib').replaceAll('\\', '/');
const ENTRY = join(LIB, 'index.ts');

/** The names lib/index.ts exports, and the program to ask about them. */
function entryPoint(): { checker: ts.TypeChecker; exported: Map<ts.Symbol, string> } {
  const program = ts.createProgram([ENTRY], { strict: true, noEmit: true, skipLibCheck: true, esModuleInterop: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(ENTRY) as ts.SourceFile;
  const moduleSymbol = checker.getSymbolAtLocation(source) as ts.Symbol;
  const exported = new Map<ts.Symbol, string>();
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    exported.set(target, symbol.name);
  }
  return { checker, exported };
}

/** Whether a symbol is declared in this package's own source. */
const isOurs = (symbol: ts.Symbol | undefined): symbol is ts.Symbol =>
  symbol?.declarations?.some((d) => d.getSourceFile().fileName.startsWith(LIB)) ?? false;

/**
 * The package's own named types that a public signature reaches (through parameters, results, properties,
 * type arguments, unions) without being exported from the root, with the export that reaches each.
 */
function unexportedTypes(): string[] {
  const { checker, exported } = entryPoint();
  const missing = new Set<string>();
  const seen = new Set<ts.Type>();
  const visit = (type: ts.Type, via: string, depth: number): void => {
    if (seen.has(type) || depth > 12) return;
    seen.add(type);
    for (const symbol of [type.aliasSymbol, type.getSymbol()]) {
      const anonymous = ts.SymbolFlags.TypeLiteral | ts.SymbolFlags.ObjectLiteral | ts.SymbolFlags.TypeParameter;
      if (!isOurs(symbol) || symbol.flags & anonymous) continue;
      if (symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Method | ts.SymbolFlags.Property)) continue;
      if (!exported.has(symbol)) missing.add(`${symbol.name} (reached from ${via})`);
    }
    const ours = isOurs(type.aliasSymbol) || isOurs(type.getSymbol()) || !type.getSymbol();
    for (const argument of type.aliasTypeArguments ?? []) visit(argument, via, depth + 1);
    if (type.isUnionOrIntersection()) for (const member of type.types) visit(member, via, depth + 1);
    if (!ours && !(type.flags & ts.TypeFlags.Object)) return;
    if (!ours) {
      // Express's, ioredis's or Node's types: only their type arguments can carry ours.
      for (const argument of checker.getTypeArguments(type as ts.TypeReference) ?? []) visit(argument, via, depth + 1);
      return;
    }
    for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
      for (const parameter of signature.getParameters()) {
        visit(checker.getTypeOfSymbol(parameter), via, depth + 1);
      }
      visit(signature.getReturnType(), via, depth + 1);
    }
    for (const property of type.getProperties()) {
      if (property.declarations?.some((d) => !d.getSourceFile().fileName.startsWith(LIB))) continue;
      visit(checker.getTypeOfSymbol(property), via, depth + 1);
    }
  };
  for (const [symbol, name] of exported) {
    if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      visit(checker.getDeclaredTypeOfSymbol(symbol), name, 0);
    }
    if (symbol.flags & ts.SymbolFlags.Value) visit(checker.getTypeOfSymbol(symbol), name, 0);
    if (symbol.flags & ts.SymbolFlags.Class) visit(checker.getDeclaredTypeOfSymbol(symbol), name, 0);
  }
  return [...missing].sort();
}

describe('the package root', function () {
  this.timeout(60_000);

  it('should export by name every type a public signature uses', () => {
    expect(unexportedTypes()).to.deep.equal([]);
  });

  it('should export every coded error class by name', async () => {
    const root = (await import('../lib')) as Record<string, unknown> & { errors: Record<string, { name: string }> };
    for (const [code, errorClass] of Object.entries(root.errors)) {
      expect(root[errorClass.name], `${errorClass.name} (${code})`).to.equal(errorClass);
    }
  });
});
