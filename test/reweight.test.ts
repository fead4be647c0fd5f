// Orthogonal reweighting (eq. 5): its two limits, and its refusals.
import test from 'ava';
import { VSGDfd } from '../lib/index.ts';
import { gauss, refCloneState, refUpdate, reweighting } from './reference.ts';
import { refOptions, rng, SEED, toRef } from './helpers.ts';

test('aligned rows: weights 1/n, the plain mean and n_eff = n, i.e. the dense step', (t) => {
  const d = 200, n = 6, r = rng(SEED);
  const plain = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 2 });
  const rew = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 2, reweight: true });
  const grads = new Float32Array(n * d), shifted = new Float32Array(n * d);
  const mu = Float64Array.from({ length: d }, () => gauss(r));
  const c = new Float64Array(n);
  for (let step = 0; step < 25; step++) {
    // every row a multiple of θ - μ: parallel or anti-parallel, |cos| = 1
    for (let j = 0; j < n; j++) c[j] = (r() < 0.3 ? -1 : 1) * (0.5 + r());
    for (let j = 0; j < n; j++) for (let i = 0; i < d; i++) grads[j * d + i] = c[j] * (plain.theta[i] - mu[i]);
    const w = reweighting(grads, n, d);
    t.true(w.w.every((x) => Math.abs(x - 1 / n) < 1e-6) && Math.abs(w.neff - n) < 1e-5, `w = 1/n, n_eff = n: ${w.w} ${w.neff}`);
    for (const o of [plain, rew]) {
      const at = o.probe(o.bootstrapping ? grads : undefined);
      for (let j = 0; j < n; j++) for (let i = 0; i < d; i++) shifted[j * d + i] = c[j] * (at[i] - mu[i]);
      o.update(grads, shifted);
    }
  }
  // the same step up to the rounding of Σ (1/n) ∇_j against (Σ ∇_j) / n
  for (let i = 0; i < d; i++) t.true(Math.abs(plain.theta[i] - rew.theta[i]) <= 1e-4 * Math.abs(plain.theta[i]) + 1e-6, `theta[${i}]`);
});

test('orthogonal rows: weights 1, the sum and n_eff = 1, as the float64 reference computes', (t) => {
  const d = 120, n = 4, r = rng(SEED + 1);
  const opt = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 1, reweight: true });
  const ro = refOptions({ algo: 'vsgdfd', sparsity: 'none', minibatch: n, bootstrap: 1, curvatureEvery: 1, outlierSigmas: 2, lr: 0, decay: 0, reweight: true, variant: 'signed' });
  const grads = new Float32Array(n * d), shifted = new Float32Array(n * d);
  for (let step = 0; step < 10; step++) {
    grads.fill(0);
    // row j owns coordinates j, j + n, j + 2n, ...: disjoint supports
    for (let i = 0; i < d; i++) grads[(i % n) * d + i] = opt.theta[i] - 0.2 + 0.1 * gauss(r);
    const rw = reweighting(grads, n, d);
    t.true(rw.w.every((x) => Math.abs(x - 1) < 1e-12) && Math.abs(rw.neff - 1) < 1e-12, `w = 1, n_eff = 1: ${rw.w} ${rw.neff}`);
    const at = opt.probe(opt.bootstrapping ? grads : undefined);
    for (let k = 0; k < n * d; k++) shifted[k] = grads[k] + 0.7 * (at[k % d] - opt.theta[k % d]);
    const theta64 = Float64Array.from(opt.theta);
    const state = toRef(opt);
    const before = refCloneState(state);
    refUpdate(ro, theta64, state, grads, shifted, n, d, step);
    opt.update(grads, shifted);
    for (let i = 0; i < d; i++) {
      t.true(Math.abs(opt.theta[i] - theta64[i]) <= 1e-4 * (Math.abs(theta64[i]) + 1e-3), `theta[${i}] ${opt.theta[i]} vs ${theta64[i]}`);
      t.true(Math.abs(opt.state.tau[i] - state.tau[i]) <= 1e-4 * (Math.abs(before.tau[i]) + 1), `tau[${i}]`);
    }
  }
});

test('a non-finite entry costs its own coordinate only: the others step as if it were 0', (t) => {
  const d = 300, n = 5, r = rng(SEED + 2);
  for (const bad of [NaN, Infinity, -Infinity]) {
    const clean = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 1, reweight: true });
    const hit = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 1, reweight: true });
    const grads = new Float32Array(n * d), shifted = new Float32Array(n * d);
    for (let step = 0; step < 6; step++) {
      for (let k = 0; k < n * d; k++) grads[k] = clean.theta[k % d] - 0.3 + 0.2 * gauss(r);
      const j = step % n, i = (step * 37) % d;
      grads[j * d + i] = 0;
      const at = clean.probe(clean.bootstrapping ? grads : undefined);
      for (let k = 0; k < n * d; k++) shifted[k] = grads[k] + 0.5 * (at[k % d] - clean.theta[k % d]);
      const before = hit.theta[i];
      const stateBefore = hit.state.g[i];
      clean.update(grads, shifted);
      hit.probe(hit.bootstrapping ? grads : undefined);
      grads[j * d + i] = bad;
      const info = hit.update(grads, shifted);
      t.is(info.skipped, 1, `${bad}: only the bad coordinate is skipped`);
      t.true(hit.theta[i] === before && hit.state.g[i] === stateBefore, `${bad}: the bad coordinate keeps its bits`);
      // resynchronize the skipped coordinate, then every other coordinate must match bit for bit
      for (let k = 0; k < d; k++) if (k !== i && hit.theta[k] !== clean.theta[k]) return t.fail(`${bad}: theta[${k}] differs at step ${step}`);
      hit.theta[i] = clean.theta[i];
      for (const [key, view] of Object.entries(hit.state)) view[i] = clean.state[key][i];
      hit.invalidate();
    }
  }
});

test('reweighting needs dense rows', (t) => {
  t.throws(() => new VSGDfd(new Float32Array(3), { reweight: true, sparsity: 'instance' }), { instanceOf: RangeError, message: /sparsity 'none' with options.reweight true/ });
  t.throws(() => new VSGDfd(new Float32Array(3), { reweight: 1 as never }), { instanceOf: TypeError, message: /true or false for options.reweight but received 1/ });
});
