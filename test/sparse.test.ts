// Sparse rows (CSR): same numbers as dense rows, O(nnz) (coordinates not named are never read),
// and bad CSR refused with clear errors and state intact.
import test, { type ExecutionContext } from 'ava';
import { type Optimizer, type SparseRows, VSGD, VSGDfd } from '../lib/index.ts';
import { gauss } from './reference.ts';
import { rng, SEED } from './helpers.ts';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
/** the first index where two float arrays differ in bits, and both values there; null if none
 * (a diff of a million-element array would take ava longer than the test) */
function firstDiff(a: Float32Array, b: Float32Array): string | null {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return `[${i}]: ${a[i]} against ${b[i]}`;
  return null;
}
const snapshot = (o: Optimizer) => ({ theta: bits(o.theta), state: Object.fromEntries(Object.entries(o.state).map(([k, v]) => [k, bits(v)])) });

function csrOf(rows: Float32Array, n: number, d: number, extra?: Float32Array): SparseRows {
  const offsets = new Int32Array(n + 1), idx: number[] = [], val: number[] = [], ext: number[] = [];
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < d; i++) {
      if (rows[j * d + i] === 0) continue;
      idx.push(i);
      val.push(rows[j * d + i]);
      if (extra) ext.push(extra[j * d + i]);
    }
    offsets[j + 1] = idx.length;
  }
  return { offsets, indices: Int32Array.from(idx), values: Float32Array.from(val), ...(extra ? { shifted: Float32Array.from(ext) } : {}) };
}

/** Steps of two optimizers, one fed dense rows and one the same numbers as sparse rows; `active`
 * says which entries of row j at coordinate i are non-zero. Every probe point, StepInfo and the
 * final state must agree bit for bit. */
function sameAsDense(t: ExecutionContext, sparsity: 'instance' | 'global', d: number, n: number, steps: number,
  active: (j: number, i: number) => boolean, seed: number): void {
  const r = rng(seed);
  const a = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, sparsity, bootstrap: 3, curvatureEvery: 2 });
  const b = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, sparsity, bootstrap: 3, curvatureEvery: 2 });
  const grads = new Float32Array(n * d), shifted = new Float32Array(n * d);
  for (let step = 0; step < steps; step++) {
    for (let k = 0; k < n * d; k++) grads[k] = active(Math.floor(k / d), k % d) ? a.theta[k % d] - 0.3 + 0.2 * gauss(r) : 0;
    let ia, ib;
    if (a.needsCurvature) {
      const at = a.probe(grads);
      const bt = b.probeSparse(csrOf(grads, n, d));
      t.is(firstDiff(bt, at), null, `the same probe point (step ${step})`);
      for (let k = 0; k < n * d; k++) shifted[k] = grads[k] === 0 ? 0 : grads[k] + (at[k % d] - a.theta[k % d]) * (1 + 0.1 * gauss(r));
      ia = a.update(grads, shifted);
      ib = b.updateSparse(csrOf(grads, n, d, shifted));
    } else {
      ia = a.update(grads);
      ib = b.updateSparse(csrOf(grads, n, d));
    }
    t.deepEqual(ib, ia);
  }
  t.is(firstDiff(b.theta, a.theta), null, 'theta');
  for (const [k, v] of Object.entries(a.state)) t.is(firstDiff(b.state[k as keyof typeof a.state] as Float32Array, v), null, `state.${k}`);
  a.dispose();
  b.dispose();
}

for (const sparsity of ['instance', 'global'] as const) {
  test(`dense and sparse rows of the same numbers give the same result (${sparsity})`, (t) => {
    const r = rng(SEED);
    sameAsDense(t, sparsity, 300, 8, 40, () => r() < 0.2, SEED + 1);
  });
}

test('sparse rows naming coordinates far apart, strided and clustered find each coordinate (dense rows bit for bit)', (t) => {
  // the coordinates' table is sized by the entries, not by d: these patterns collide in it unless
  // the slots spread (strides of powers of two and their neighbours), and a cluster fills a run
  const d = (1 << 20) + 3, n = 4, r = rng(SEED + 5);
  const strides = [2049, 2047, 4096, 65537, 1 << 19];
  const cluster = (i: number) => i >= 500_000 && i < 500_300;
  sameAsDense(t, 'instance', d, n, 8, (j, i) => i % strides[j] === 7 || i % strides[j + 1] === 3 || (j === n - 1 && cluster(i)) || (j === 0 && r() < 1e-4), SEED + 6);
});

for (const sparsity of ['none', 'instance', 'global'] as const) {
  test(`dense rows while coordinates bootstrap: the probe point patched at those coordinates is a full probe pass, bit for bit (${sparsity})`, (t) => {
    // d not a multiple of the 8 lanes; some coordinates never active, so they bootstrap forever
    const d = 1037, n = 6, r = rng(SEED + 3);
    const o = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, sparsity, bootstrap: sparsity === 'none' ? 30 : 4 });
    const never = (i: number) => sparsity !== 'none' && i % 13 === 5;
    const rows = () => Float32Array.from({ length: n * d }, (_, k) => (never(k % d) || r() < 0.4 ? 0 : o.theta[k % d] - 0.2 + gauss(r)));
    let patched = 0;
    for (let step = 0; step < 12; step++) {
      const grads = rows();
      const boot = Array.from(o.state.tau).filter((x) => x <= 0).length;
      const at = o.probe(grads).slice();
      o.invalidate();
      const full = o.probe(grads);
      t.deepEqual(bits(at), bits(full), `step ${step}`);
      if (step > 0 && boot > 0) patched++;
      const shifted = Float32Array.from(grads, (x, k) => (x === 0 ? 0 : x + 0.5 * (full[k % d] - o.theta[k % d])));
      o.update(grads, shifted);
    }
    t.true(patched > 0, 'some steps patched a bootstrapping probe point');
  });
}

test('a sparse step reads and writes only the coordinates its rows name', (t) => {
  const d = 5_000_000;
  const theta = new Float32Array(d).fill(NaN); // anything that read these would count a skip
  const opt = new VSGDfd(theta, { minibatch: 2, sparsity: 'instance', bootstrap: 2 });
  const named = [3, 77, 4_999_999];
  for (const i of named) theta[i] = 1;
  opt.invalidate();
  const rows: SparseRows = { offsets: new Int32Array([0, 2, 3]), indices: new Int32Array([3, 77, 4_999_999]), values: new Float32Array([0.5, -0.2, 0.1]) };
  let info;
  for (let s = 0; s < 6; s++) {
    const at = opt.probeSparse(rows);
    info = opt.updateSparse({ ...rows, shifted: rows.values.map((x, k) => x + 0.5 * (at[rows.indices[k]] - theta[rows.indices[k]])) });
    t.is(info.skipped, 0);
    t.is(info.touched, 3);
  }
  t.is(info?.bootstrapping, d - 3, 'only the named coordinates finished bootstrapping');
  t.true(named.every((i) => theta[i] !== 1), 'the named coordinates moved');
  t.true(Number.isNaN(theta[4]) && Number.isNaN(theta[4_999_998]) && opt.state.tau[4] === 0);
});

test('bad sparse rows are refused with clear errors and change nothing', (t) => {
  const d = 10;
  const opt = new VSGDfd(new Float32Array(d).fill(1), { minibatch: 2, sparsity: 'instance', bootstrap: 1, curvatureEvery: 2 });
  const ok: SparseRows = { offsets: new Int32Array([0, 2, 3]), indices: new Int32Array([1, 4, 2]), values: new Float32Array([1, 2, 3]) };
  opt.probeSparse(ok);
  opt.updateSparse({ ...ok, shifted: new Float32Array([1.1, 2.1, 3.1]) });
  const before = snapshot(opt);
  const bad: [Partial<SparseRows> & Record<string, unknown>, RegExp, ErrorConstructor][] = [
    [{ ...ok, indices: new Int32Array([4, 1, 2]) }, /indices\[1\] = 1 is not greater than indices\[0\] = 4 in row 0/, RangeError],
    [{ ...ok, indices: new Int32Array([1, 1, 2]) }, /sorted and unique/, RangeError],
    [{ ...ok, indices: new Int32Array([1, 10, 2]) }, /indices\[1\] = 10 is outside \[0, 10\)/, RangeError],
    [{ ...ok, indices: new Int32Array([-1, 4, 2]) }, /outside/, RangeError],
    [{ ...ok, offsets: new Int32Array([0, 2, 4]) }, /offsets\[2\] = 4 runs past the 3 entries/, RangeError],
    [{ ...ok, offsets: new Int32Array([0, 2, 2]) }, /offsets\[n\] = 2 but indices has 3 entries/, RangeError],
    [{ ...ok, offsets: new Int32Array([1, 2, 3]) }, /offsets\[0\] must be 0/, RangeError],
    [{ ...ok, offsets: new Int32Array([0, 3, 2]) }, /must not decrease/, RangeError],
    [{ ...ok, values: new Float32Array(2) }, /length 3 \(one value per index\) for rows.values but received a Float32Array of length 2/, RangeError],
    [{ ...ok, shifted: new Float32Array(5) }, /for rows.shifted/, RangeError],
    [{ ...ok, indices: [1, 4, 2] as never }, /Int32Array for rows.indices/, TypeError],
    [{ ...ok, values: new Float64Array(3) as never }, /Float32Array for rows.values/, TypeError],
    [{ ...ok, weights: 1 }, /Unknown field "weights"/, TypeError],
  ];
  for (const [rows, message, type] of bad) {
    t.throws(() => opt.updateSparse(rows as SparseRows), { instanceOf: type, message });
    t.deepEqual(snapshot(opt), before);
  }
  const dense = new VSGDfd(new Float32Array(d), { sparsity: 'none' });
  t.throws(() => dense.updateSparse(ok), { message: /needs sparsity 'instance' or 'global'/ });
  opt.updateSparse(ok); // curvature is not due on update 1 of every 2
  const after = snapshot(opt);
  t.throws(() => opt.updateSparse(ok), { instanceOf: TypeError, message: /curvature is due/ });
  t.throws(() => opt.updateSparse({ ...ok, shifted: new Float32Array(3) }), { message: /probeSparse\(\) was not called/ });
  t.deepEqual(snapshot(opt), after);
});

test('VSGD takes sparse curvature values', (t) => {
  const d = 6;
  const opt = new VSGD(new Float32Array(d).fill(2), { minibatch: 1, sparsity: 'instance', bootstrap: 2 });
  for (let s = 0; s < 30; s++) {
    const i = s % 3;
    const info = opt.updateSparse({ offsets: new Int32Array([0, 1]), indices: new Int32Array([i]), values: new Float32Array([opt.theta[i]]), curvature: new Float32Array([1]) });
    t.is(info.touched, 1);
  }
  t.true(opt.theta[0] < 2 && opt.theta[5] === 2);
});
