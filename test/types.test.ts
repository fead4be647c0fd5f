// The declarations a user compiles against (dist/*.d.ts, built by `npm test` first): state and
// options typed per class (test/types/usage.ts, whose @ts-expect-error lines must not compile),
// and every option documented with its range and default as lib/options.ts checks them.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import ts from 'typescript';
import { adagradOptions, adamOptions, naturalOptions, range, type Schema, sgdOptions, vsgdOptions } from '../lib/options.ts';

const root = join(import.meta.dirname, '..');

test('test/types/usage.ts compiles against the declarations, and its refusals are refused', (t) => {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'test', 'types', 'tsconfig.json')], { encoding: 'utf8' });
  t.is(r.status, 0, r.stdout + r.stderr);
});

const classes: [string, Schema][] = [
  ['VSGDfd', vsgdOptions], ['VSGD', vsgdOptions], ['SGD', sgdOptions], ['AdaGrad', adagradOptions],
  ['NaturalGradient', naturalOptions], ['Adam', adamOptions],
];

test('every option of every class is documented in the .d.ts with the range and default it is checked against', (t) => {
  const program = ts.createProgram([join(root, 'dist', 'index.d.ts')], { strict: true });
  const checker = program.getTypeChecker();
  const index = checker.getSymbolAtLocation(program.getSourceFile(join(root, 'dist', 'index.d.ts')) as ts.SourceFile) as ts.Symbol;
  const exports = new Map(checker.getExportsOfModule(index).map((s) => [s.name, s]));
  for (const [name, schema] of classes) {
    const cls = checker.getTypeOfSymbol(exports.get(name) as ts.Symbol);
    const ctor = cls.getConstructSignatures()[0];
    const optionsType = checker.getTypeOfSymbol(ctor.getParameters()[1]);
    const documented = new Map(checker.getPropertiesOfType(checker.getNonNullableType(optionsType))
      .map((p) => [p.name, ts.displayPartsToString(p.getDocumentationComment(checker))]));
    t.deepEqual([...documented.keys()].sort(), Object.keys(schema).sort(), `${name}: the type's options are the schema's`);
    for (const [key, spec] of Object.entries(schema)) {
      const doc = documented.get(key) ?? '';
      const def = spec.default === undefined ? 'all cores' : spec.kind === 'enum' ? `'${spec.default}'` : String(spec.default);
      t.true(doc.includes(`Default: ${def}.`), `${name} ${key}: "${doc}" should say Default: ${def}.`);
      if (spec.kind === 'number') t.true(doc.includes(`Range: ${range(spec)}.`), `${name} ${key}: "${doc}" should say Range: ${range(spec)}.`);
    }
  }
});
