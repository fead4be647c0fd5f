// The ids and names defined once (native/core/names.h): the addon exports them, lib/names.ts
// mirrors them as literal types, and lib/native.ts refuses an addon whose tables differ.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdaGrad, Adam, NaturalGradient, SGD, VSGD, VSGDfd } from '../lib/index.ts';
import { ALGORITHMS, FIELDS, SPARSITIES, VARIANTS } from '../lib/names.ts';
import { addon, addonPath } from '../lib/native.ts';

test('the addon exports the names lib/names.ts lists, in id order', (t) => {
  t.deepEqual(addon.names, { algorithms: [...ALGORITHMS], sparsity: [...SPARSITIES], fields: [...FIELDS], variants: [...VARIANTS] });
});

test('every class is the algorithm its name says: checkpoints carry its id', (t) => {
  const classes = [VSGDfd, VSGD, SGD, AdaGrad, NaturalGradient, Adam];
  t.deepEqual(classes.map((c) => c.name), [...ALGORITHMS]);
  classes.forEach((Cls, id) => {
    const bytes = new Cls(new Float32Array(3)).save();
    t.is(new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true), id, Cls.name);
  });
  // the checkpoint parser names the algorithm from the same table
  const fd = new VSGDfd(new Float32Array(3)).save();
  t.throws(() => VSGD.load(new Float32Array(3), fd), { message: /saved by another algorithm \(VSGDfd\), not VSGD/ });
});

test('layout() keys its slots by the field names; every sparsity name is one the checkpoint parser reads', (t) => {
  for (let algo = 0; algo < ALGORITHMS.length; algo++) {
    for (let s = 0; s < SPARSITIES.length; s++) t.deepEqual(Object.keys(addon.layout(algo, s)), [...FIELDS, 'count']);
  }
  for (const sparsity of SPARSITIES) {
    const opt = new VSGDfd(new Float32Array(4), { sparsity });
    t.is(VSGDfd.load(new Float32Array(4), opt.save()).options.sparsity, sparsity);
  }
  t.is(addon.layout(ALGORITHMS.indexOf('VSGDfd'), SPARSITIES.indexOf('global')).p, 6, "'global' adds p after the six fields");
});

test('an addon whose name tables differ from lib/names.ts is refused at load, naming the table', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vsgd-names-'));
  const fake = join(dir, 'fake.js');
  // the real addon with the last two algorithms swapped
  writeFileSync(fake, `const real = require(${JSON.stringify(addonPath)});
    module.exports = { ...real, names: { ...real.names, algorithms: [...real.names.algorithms.slice(0, 4), 'Adam', 'NaturalGradient'] } };`);
  const lib = join(import.meta.dirname, '..', 'lib', 'index.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `require(${JSON.stringify(lib)})`], { encoding: 'utf8', env: { ...process.env, VSGD_FD_ADDON: fake } });
  rmSync(dir, { recursive: true });
  t.not(r.status, 0);
  t.regex(r.stderr, /does not match its TypeScript \(other algorithm names than lib\/names.ts\); rebuild it/);
});
