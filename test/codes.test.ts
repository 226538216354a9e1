// The one list of codes: its scheme, the error classes built on it, and that every listed code is used.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { codes } from '../lib/common/codes';
import { errors } from '../lib/errors';

const LIB = join(__dirname, '..', 'lib');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('codes', () => {
  it('should name every error E_<AREA>_<CONDITION> and every warning W_<AREA>_<CONDITION>', () => {
    for (const [code, kind] of Object.entries(codes)) {
      expect(code).to.match(kind === 'error' ? /^E_[A-Z]+(_[A-Z0-9]+)+$/ : /^W_[A-Z]+(_[A-Z0-9]+)+$/);
    }
  });

  it('should give every coded error class a code of the list, under its own code in errors', () => {
    for (const [key, errorClass] of Object.entries(errors)) {
      expect(errorClass.code).to.equal(key);
      expect(codes).to.have.property(key, 'error');
    }
  });

  it('should list every error code in the errors map', () => {
    const errorCodes = Object.entries(codes)
      .filter(([, kind]) => kind === 'error')
      .map(([code]) => code);
    expect(Object.keys(errors)).to.have.members(errorCodes);
  });

  it('should list only codes that the library uses', () => {
    const source = sourceFiles(LIB)
      .filter((path) => !path.endsWith(join('common', 'codes.ts')))
      .map((path) => readFileSync(path, 'utf8'))
      .join('\n');
    const unused = Object.keys(codes).filter((code) => !source.includes(`'${code}'`));
    expect(unused).to.deep.equal([]);
  });
});
