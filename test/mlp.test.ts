// The MLP problem: per-sample gradients against central differences of the loss, dense rows,
// CSR rows and the summed gradient agreeing, and the diagonal Hessian against differences of
// the gradient.
import test from 'ava';
import { Mlp, SparseGrads } from '../lib/problems/mlp.ts';
import { rng } from '../lib/problems/random.ts';

// A small net on inputs with exact zeros (as MNIST pixels have), in double-friendly sizes.
function setup(sizes = [6, 5, 4, 3], count = 7) {
  const mlp = new Mlp(sizes, count);
  const theta = new Float32Array(mlp.d);
  mlp.init(theta, 3);
  const r = rng(11);
  for (let k = 0; k < theta.length; k++) theta[k] += 0.2 * (r.uniform() - 0.5); // non-zero biases
  const data = Float32Array.from({ length: count * sizes[0] }, () => (r.uniform() < 0.3 ? 0 : r.uniform()));
  const labels = Uint8Array.from({ length: count }, () => Math.floor(r.uniform() * sizes[sizes.length - 1]));
  const idx = Int32Array.from({ length: count }, (_, k) => (k * 3) % count); // a permuted batch
  return { mlp, theta, set: { data, labels }, idx, count };
}

test('layout: weights input-major then biases, layer after layer', (t) => {
  const mlp = new Mlp([784, 256, 128, 10], 1);
  t.is(mlp.d, 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  t.deepEqual(mlp.layers.map((L) => [L.w, L.b]), [[0, 200704], [200960, 233728], [233856, 235136]]);
  t.throws(() => new Mlp([5], 1), { instanceOf: RangeError });
  t.throws(() => new Mlp([5, 2], 0), { instanceOf: RangeError });
});

test('per-sample gradient rows match central differences of each sample\'s loss', (t) => {
  const { mlp, theta, set, idx, count } = setup();
  mlp.forward(theta, set, idx, count);
  mlp.backward(theta);
  const rows = new Float32Array(count * mlp.d).fill(NaN); // every entry must be written
  mlp.rows(rows);
  let worst = 0;
  for (let s = 0; s < count; s++) {
    const one = Int32Array.of(idx[s]);
    for (let i = 0; i < mlp.d; i++) {
      const th = Float64Array.from(theta);
      const e = 1e-3;
      const at = (x: number) => {
        const p = Float32Array.from(th);
        p[i] = x;
        return mlp.forward(p, set, one, 1);
      };
      const fd = (at(th[i] + e) - at(th[i] - e)) / (fl32(th[i] + e) - fl32(th[i] - e));
      worst = Math.max(worst, Math.abs(fd - rows[s * mlp.d + i]) / (1e-3 + Math.abs(fd)));
    }
  }
  t.true(worst < 2e-3, `worst relative error ${worst}`);
});

const fl32 = (x: number) => Math.fround(x);

test('dense rows, CSR rows and the sum agree; CSR holds exactly the non-zero entries', (t) => {
  const { mlp, theta, set, idx, count } = setup([8, 6, 5, 3], 9);
  mlp.forward(theta, set, idx, count);
  mlp.backward(theta);
  const rows = new Float32Array(count * mlp.d);
  mlp.rows(rows);
  const sum = new Float64Array(mlp.d);
  mlp.sum(sum);
  const csr = new SparseGrads(2); // grows past its first batch size
  mlp.sparseRows(csr);
  const v = csr.view(false);
  let nonzero = 0;
  for (let s = 0; s < count; s++) {
    const dense = new Float32Array(mlp.d);
    for (let k = v.offsets[s]; k < v.offsets[s + 1]; k++) {
      if (k > v.offsets[s]) t.true(v.indices[k] > v.indices[k - 1], 'sorted and unique');
      dense[v.indices[k]] = v.values[k];
    }
    t.deepEqual(dense, rows.subarray(s * mlp.d, (s + 1) * mlp.d));
    for (let i = 0; i < mlp.d; i++) nonzero += rows[s * mlp.d + i] !== 0 ? 1 : 0;
  }
  t.is(csr.nnz, nonzero);
  for (let i = 0; i < mlp.d; i++) {
    let s = 0;
    for (let j = 0; j < count; j++) s += rows[j * mlp.d + i];
    t.true(Math.abs(s - sum[i]) <= 1e-5 * (1 + Math.abs(s)), `sum at ${i}`);
  }
  // shifted values: the rows at another point, read at the same entries
  const at = Float32Array.from(theta, (x, k) => x + 0.05 * Math.sin(k));
  mlp.forward(at, set, idx, count);
  mlp.backward(at);
  const there = new Float32Array(count * mlp.d);
  mlp.rows(there);
  mlp.sparseShifted(csr);
  const w = csr.view(true);
  for (let s = 0; s < count; s++) {
    for (let k = w.offsets[s]; k < w.offsets[s + 1]; k++) t.true(w.shifted?.[k] === there[s * mlp.d + w.indices[k]], `entry ${k}`);
  }
});

test('diagonal Hessian matches differences of the gradient, coordinate by coordinate', (t) => {
  const { mlp, theta, set, idx, count } = setup([5, 4, 4, 3], 5);
  mlp.forward(theta, set, idx, count);
  mlp.backward(theta);
  const sum = new Float64Array(mlp.d), active = new Float64Array(mlp.d), hActive = new Float64Array(mlp.d);
  mlp.diagonalHessian(theta, sum, active, hActive);
  const g = new Float64Array(mlp.d), g2 = new Float64Array(mlp.d);
  let worst = 0;
  for (let i = 0; i < mlp.d; i++) {
    // ReLU nets are piecewise linear in each weight: a small one-sided step stays in the region
    const e = 1e-3;
    const p = Float32Array.from(theta);
    mlp.forward(p, set, idx, count);
    mlp.backward(p);
    mlp.sum(g);
    p[i] += e;
    const step = p[i] - theta[i];
    mlp.forward(p, set, idx, count);
    mlp.backward(p);
    mlp.sum(g2);
    const fd = (g2[i] - g[i]) / step;
    worst = Math.max(worst, Math.abs(fd - sum[i]) / (1e-3 + Math.abs(fd)));
    t.true(hActive[i] <= sum[i] + 1e-12 && active[i] <= count);
  }
  t.true(worst < 2e-2, `worst relative error ${worst}`);
});

test('evaluate: accuracy and mean loss over the set in batches', (t) => {
  const { mlp, theta, set, count } = setup();
  const e = mlp.evaluate(theta, set);
  const all = Int32Array.from({ length: count }, (_, k) => k);
  const loss = mlp.forward(theta, set, all, count) / count;
  t.true(Math.abs(e.logLoss - loss) < 1e-12);
  let right = 0;
  for (let s = 0; s < count; s++) right += mlp.predicted(s) === set.labels[s] ? 1 : 0;
  t.is(e.accuracy, right / count);
});
