// The accumulate form: rows fed a few at a time give the batch form's numbers, bit for bit.
import test from 'ava';
import { Adam, type Optimizer, VSGD, VSGDfd } from '../lib/index.ts';
import { gauss } from './reference.ts';
import { rng, SEED } from './helpers.ts';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const snapshot = (o: Optimizer) => ({ theta: bits(o.theta), state: Object.fromEntries(Object.entries(o.state).map(([k, v]) => [k, bits(v)])) });

// rows [from, to) of n x d rows
const slice = (rows: Float32Array, d: number, from: number, to: number) => rows.subarray(from * d, to * d);

for (const options of [{}, { curvatureEvery: 3 }, { outlierSigmas: 0, bootstrap: 30 }] as const) {
  test(`VSGDfd: rows fed in blocks match update() with all rows ${JSON.stringify(options)}`, (t) => {
    const d = 257, n = 12, r = rng(SEED);
    const batch = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, ...options });
    const acc = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, ...options });
    const grads = new Float32Array(n * d), shifted = new Float32Array(n * d);
    const mu = Float64Array.from({ length: d }, () => gauss(r));
    for (let step = 0; step < 30; step++) {
      for (let k = 0; k < n * d; k++) grads[k] = batch.theta[k % d] - mu[k % d] + gauss(r);
      const due = batch.needsCurvature;
      let want;
      if (due) {
        const at = batch.probe(batch.bootstrapping ? grads : undefined);
        for (let k = 0; k < n * d; k++) shifted[k] = grads[k] + (at[k % d] - batch.theta[k % d]) * (1 + 0.2 * gauss(r));
        want = batch.update(grads, shifted);
      } else want = batch.update(grads);
      // the same rows, 1 to 5 at a time
      const cuts = [0];
      while (cuts[cuts.length - 1] < n) cuts.push(Math.min(n, cuts[cuts.length - 1] + 1 + Math.floor(r() * 5)));
      if (due && acc.bootstrapping) {
        for (let c = 1; c < cuts.length; c++) acc.accumulate(slice(grads, d, cuts[c - 1], cuts[c]));
        acc.probe();
        for (let c = 1; c < cuts.length; c++) acc.accumulateCurvature(slice(grads, d, cuts[c - 1], cuts[c]), slice(shifted, d, cuts[c - 1], cuts[c]));
      } else if (due) {
        acc.probe();
        for (let c = 1; c < cuts.length; c++) acc.accumulate(slice(grads, d, cuts[c - 1], cuts[c]), slice(shifted, d, cuts[c - 1], cuts[c]));
      } else {
        for (let c = 1; c < cuts.length; c++) acc.accumulate(slice(grads, d, cuts[c - 1], cuts[c]));
      }
      t.deepEqual(acc.finish(), want);
    }
    t.deepEqual(snapshot(acc), snapshot(batch));
  });
}

test('VSGD and Adam: the accumulate form matches too', (t) => {
  const d = 100, n = 6, r = rng(SEED + 5);
  const pairs: [Optimizer, Optimizer][] = [
    [new VSGD(new Float32Array(d).fill(1), { minibatch: n }), new VSGD(new Float32Array(d).fill(1), { minibatch: n })],
    [new Adam(new Float32Array(d).fill(1), { lr: 0.01 }), new Adam(new Float32Array(d).fill(1), { lr: 0.01 })],
  ];
  const grads = new Float32Array(n * d), curv = new Float32Array(n * d).fill(2);
  for (const [batch, acc] of pairs) {
    for (let step = 0; step < 20; step++) {
      for (let k = 0; k < n * d; k++) grads[k] = batch.theta[k % d] + gauss(r);
      const extra = batch instanceof VSGD ? curv : undefined;
      const want = batch.update(grads, extra);
      for (let j = 0; j < n; j += 2) acc.accumulate(slice(grads, d, j, j + 2), extra && slice(extra, d, j, j + 2));
      t.deepEqual(acc.finish(), want);
    }
    t.deepEqual(snapshot(acc), snapshot(batch));
  }
});

test('the accumulate form refuses what would change its numbers', (t) => {
  const d = 4;
  const opt = new VSGDfd(new Float32Array(d).fill(1), { minibatch: 2 });
  const g = new Float32Array(2 * d).fill(0.5);
  t.throws(() => opt.finish(), { message: /no rows were accumulated/ });
  t.throws(() => opt.accumulate(g, g), { message: /while bootstrapping the probe point depends on every row/ });
  opt.accumulate(g);
  t.throws(() => opt.accumulateCurvature(g, g), { message: /call probe\(\) after the gradient rows first/ });
  t.throws(() => opt.update(g), { message: /finish\(\) the accumulated rows first/ });
  t.throws(() => opt.finish(), { instanceOf: TypeError, message: /curvature is due/ });
  opt.probe();
  opt.accumulateCurvature(g.subarray(0, d), g.subarray(0, d));
  t.throws(() => opt.accumulate(g), { message: /every gradient row must come first/ });
  t.throws(() => opt.finish(), { message: /2 gradient rows but 1 curvature rows/ });
  t.throws(() => opt.accumulateCurvature(g, g), { instanceOf: RangeError, message: /more curvature rows than gradient rows/ });
  opt.accumulateCurvature(g.subarray(d), g.subarray(d));
  t.is(opt.finish().rows, 2);
  t.throws(() => new VSGDfd(new Float32Array(d), { reweight: true }).accumulate(g), { message: /reweighting needs all rows/ });
});
