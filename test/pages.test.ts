// options.hugePages: the arrays it advises, the same numbers with it as without, and bad values refused.
import test from 'ava';
import { existsSync } from 'node:fs';
import { type SparseRows, VSGDfd } from '../lib/index.ts';
import { addon } from '../lib/native.ts';
import { rng, SEED } from './helpers.ts';

const thp = process.platform === 'linux' && existsSync('/sys/kernel/mm/transparent_hugepage/enabled');

test('hugePages advises the whole 2 MiB pages inside an array, and none in a small one', (t) => {
  const big = new Float32Array(3 << 20);  // 12 MiB: five or six whole huge pages, wherever it starts
  const pages = addon.hugePages(big, false);
  if (thp) t.true(pages === 5 || pages === 6, `${pages} pages`);
  else t.is(pages, 0);
  t.is(addon.hugePages(new Float32Array(1 << 18), false), 0);  // 1 MiB: no whole huge page
  t.is(addon.hugePages(big.subarray(1, 1 << 19), false), 0);  // under 2 MiB from an odd start
});

test('an optimizer with hugePages: true computes the same bits as one without', (t) => {
  const d = 1 << 21, n = 4, r = rng(SEED);  // 8 MiB of theta, 48 MiB of state
  const start = Float32Array.from({ length: d }, () => r() - 0.5);
  const opts = [{ minibatch: n, bootstrap: 2 }, { minibatch: n, bootstrap: 2, hugePages: true }];
  const [a, b] = opts.map((o) => new VSGDfd(Float32Array.from(start), o));
  try {
    t.is(b.options.hugePages, true);
    const rows = (k: number): SparseRows => {
      const uniq = Int32Array.from(new Set(Array.from({ length: 64 }, () => Math.floor(r() * d)))).sort();
      return { offsets: Int32Array.of(0, uniq.length), indices: uniq, values: Float32Array.from(uniq, (i) => Math.sin(i + k)) };
    };
    const grads = Float32Array.from({ length: n * d }, () => r() - 0.5);
    const shifted = grads.map((g) => g * 1.01 + 1e-3);
    for (let k = 0; k < 6; k++) {
      const sp = rows(k);
      for (const o of [a, b]) {
        o.probe(grads);
        o.update(grads, shifted);
        o.probeSparse(sp);
        o.updateSparse({ ...sp, shifted: sp.values.map((v) => v * 1.02) });
      }
    }
    t.true(Buffer.from(a.theta.buffer).equals(Buffer.from(b.theta.buffer)), `theta, seed ${SEED}`);
    for (const key of Object.keys(a.state)) {
      const x = (a.state as Record<string, Float32Array>)[key], y = (b.state as Record<string, Float32Array>)[key];
      t.true(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)), `${key}, seed ${SEED}`);
    }
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('hugePages must be a boolean', (t) => {
  t.throws(() => new VSGDfd(new Float32Array(4), { hugePages: 'yes' } as never), {
    instanceOf: TypeError, message: 'Expected true or false for options.hugePages but received "yes"',
  });
});
