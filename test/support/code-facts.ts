// What the code says about options, read with the TypeScript compiler: each options type's fields and their @default.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

export interface OptionFact {
  name: string;
  /** The text of the field's `@default` TSDoc tag, when it has one. */
  defaultText: string | undefined;
}

/** One TypeScript program over lib/, built once and shared by the questions below. */
export class CodeFacts {
  private readonly program: ts.Program;
  private readonly checker: ts.TypeChecker;
  private readonly exports: Map<string, ts.Symbol>;

  constructor(root: string) {
    const files = sourceFiles(join(root, 'lib'));
    const config = ts.getParsedCommandLineOfConfigFile(
      join(root, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    this.program = ts.createProgram(files, { ...config?.options, noEmit: true });
    this.checker = this.program.getTypeChecker();
    const index = this.program.getSourceFile(join(root, 'lib', 'index.ts'));
    const moduleSymbol = index && this.checker.getSymbolAtLocation(index);
    if (moduleSymbol === undefined) throw new Error('lib/index.ts not found');
    this.exports = new Map(this.checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));
  }

  /** The fields of an options type exported by lib/index.ts, or of one of its object-valued fields (`cookie`). */
  optionsOf(typeName: string, field?: string): OptionFact[] {
    const symbol = this.exports.get(typeName) ?? this.declared(typeName);
    let type = this.checker.getDeclaredTypeOfSymbol(this.resolve(symbol));
    if (field !== undefined) {
      const property = type.getProperty(field);
      if (property === undefined) throw new Error(`${typeName} has no field ${field}`);
      type = this.checker.getNonNullableType(this.checker.getTypeOfSymbol(property));
    }
    return type.getProperties().map((property) => ({
      name: property.name,
      defaultText: property
        .getJsDocTags(this.checker)
        .find((tag) => tag.name === 'default')
        ?.text?.map((part) => part.text)
        .join('')
        .trim(),
    }));
  }

  /** A type declared (and exported) in some file of lib/ but not re-exported by lib/index.ts. */
  private declared(typeName: string): ts.Symbol {
    for (const file of this.program.getSourceFiles()) {
      const moduleSymbol = this.checker.getSymbolAtLocation(file);
      const found = moduleSymbol && this.checker.getExportsOfModule(moduleSymbol).find((s) => s.name === typeName);
      if (found !== undefined && file.fileName.includes('/lib/')) return found;
    }
    throw new Error(`lib/ declares no exported type ${typeName}`);
  }

  private resolve(symbol: ts.Symbol): ts.Symbol {
    return symbol.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(symbol) : symbol;
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}
