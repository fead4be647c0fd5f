// The pieces behind `vsgd-fd simulate`: curvature rows, batched case blocks, the seeded
// generator, the Figure 6 protocol (lockstep, shared samples), Figures 1-3.
import test from 'ava';
import {
  CaseBlocks, cases, expectedExcess, sampleCurvature, sampleGrad, sampleLoss,
} from '../lib/problems/elementary.ts';
import { NoisyQuadratic } from '../lib/problems/quadratic.ts';
import { rng } from '../lib/problems/random.ts';
import { clusterSample } from '../lib/problems/clusters.ts';
import { DEFAULTS, recordSteps, runGrid, settings } from '../lib/experiments/elementary.ts';
import { type Rule, expectedAfter, figure1, figure2, gain, simulatedGain } from '../lib/experiments/minibatch.ts';
import { figure3, reweight } from '../lib/experiments/reweight.ts';

test('sampleCurvature is the derivative of sampleGrad (0 for abs and rectlin)', (t) => {
  const h = 1e-5;
  for (const c of cases()) {
    for (const [th, xi] of [[1, 0.3], [-0.4, 0.9], [2, -1.5], [0.2, 0.25]]) {
      const fd = (sampleGrad(c, th + h, xi) - sampleGrad(c, th - h, xi)) / (2 * h);
      const k = sampleCurvature(c, th, xi);
      t.true(Math.abs(fd - k) <= 1e-5 * (1 + Math.abs(k)), `${c.loss} A=${c.A}: fd ${fd}, curvature ${k}`);
    }
  }
  const g = { loss: 'gauss' as const, A: 2, noise: 1 };
  t.true(sampleCurvature(g, 2, 0) < 0, 'gauss curvature is signed: negative beyond |r| = 1');
  t.is(sampleLoss(g, 0, 0), 0);
});

test('CaseBlocks rows equal the per-sample functions, case by case', (t) => {
  const cs = cases();
  const runs = 3;
  const n = 2;
  const b = new CaseBlocks(cs, runs);
  t.is(b.d, 36 * runs);
  const r = rng(5);
  const z = new Float64Array(n * b.d);
  r.normals(z);
  const at = Float32Array.from({ length: b.d }, () => 3 * r.uniform() - 1.5);
  const g = new Float32Array(n * b.d);
  const k = new Float32Array(n * b.d);
  const e = new Float64Array(b.d);
  b.grads(at, z, n, g);
  b.curvatures(at, z, n, k);
  b.excess(at, e);
  for (let i = 0; i < b.d; i++) {
    const c = cs[Math.floor(i / runs)];
    const xi = (j: number) => Math.sqrt(c.noise) * z[j * b.d + i];
    for (let j = 0; j < n; j++) {
      t.is(g[j * b.d + i], Math.fround(sampleGrad(c, at[i], xi(j))));
      t.is(k[j * b.d + i], Math.fround(sampleCurvature(c, at[i], xi(j))));
    }
    t.is(e[i], expectedExcess(c, at[i]));
  }
});

test('the generator is reproducible and its normals are standard', (t) => {
  const a = new Float64Array(200_001);
  const b = new Float64Array(200_001);
  rng(7).normals(a);
  rng(7).normals(b);
  t.deepEqual(a, b);
  const other = new Float64Array(4);
  rng(8).normals(other);
  t.notDeepEqual(Array.from(other), Array.from(a.subarray(0, 4)));
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  const variance = a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length;
  t.true(Math.abs(mean) < 0.01 && Math.abs(variance - 1) < 0.015, `mean ${mean}, variance ${variance}`);
  t.throws(() => rng(-1), { instanceOf: RangeError });
});

test('settings: the paper\'s grid, and recorded steps at powers of two', (t) => {
  const s = settings(DEFAULTS);
  t.is(s.filter((x) => x.algo === 'sgd').length, 8);
  t.is(s.filter((x) => x.algo === 'adagrad').length, 4);
  t.is(s.filter((x) => x.algo === 'natural').length, 4);
  t.deepEqual(s.filter((x) => !['sgd', 'adagrad', 'natural'].includes(x.algo)).map((x) => x.id), ['vsgd', 'vsgdfd-paper', 'vsgdfd', 'adam']);
  t.deepEqual(recordSteps(1024), [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
  t.deepEqual(recordSteps(12), [0, 1, 2, 4, 8, 12]);
});

// The protocol by hand for plain SGD: one generator, a fresh block of nmax x d normals per step,
// every setting and every n stepping on it (n uses the first n rows).
test('runGrid steps every setting in lockstep on the same samples', async (t) => {
  const o = { ...DEFAULTS, losses: ['quad', 'abs'] as const, algorithms: ['sgd'] as const, lrs: [0.1, 1], decays: [0, 1], ns: [1, 3], runs: 4, steps: 16, seed: 99, threads: 1 };
  const grid = await runGrid({ ...o, losses: [...o.losses], algorithms: [...o.algorithms] });
  const b = new CaseBlocks(grid.cases, o.runs);
  const r = rng(o.seed);
  const z = new Float64Array(3 * b.d);
  const thetas = grid.rows.map(() => new Float64Array(b.d).fill(1));
  const g = new Float32Array(3 * b.d);
  for (let step = 1; step <= o.steps; step++) {
    r.normals(z);
    grid.rows.forEach((row, k) => {
      const th = thetas[k];
      const at = Float32Array.from(th);
      b.grads(at, z, row.n, g);
      const rate = row.setting.options.lr / (1 + row.setting.options.decay * (step - 1));
      for (let i = 0; i < b.d; i++) {
        let sum = 0;
        for (let j = 0; j < row.n; j++) sum += g[j * b.d + i];
        th[i] = Math.fround(at[i] - Math.fround(rate * (sum / row.n)));
      }
    });
  }
  grid.rows.forEach((row, k) => {
    row.squares.forEach((sq, c) => {
      let mean = 0;
      for (let i = c * o.runs; i < (c + 1) * o.runs; i++) mean += expectedExcess(grid.cases[c], thetas[k][i]) / o.runs;
      const got = sq.meanExcess[sq.meanExcess.length - 1] as number;
      t.true(Math.abs(got - mean) <= 1e-4 * Math.abs(mean) + 1e-12, `${row.setting.label} n=${row.n} case ${c}: ${got} vs ${mean}`);
    });
  });
  t.is(grid.steps.length, 6);
});

test('the noisy quadratic: density, mean gradient and excess', (t) => {
  const p = new NoisyQuadratic(4000, { noise: 4, density: 0.25, h: 2 });
  const at = new Float64Array(4000).fill(1);
  const rows = new Float64Array(5 * 4000);
  p.gradRows(at, 5, rng(3), rows);
  const nz = rows.filter((x) => x !== 0);
  t.true(Math.abs(nz.length / rows.length - 0.25) < 0.02);
  const mean = nz.reduce((s, x) => s + x, 0) / nz.length;
  t.true(Math.abs(mean - 2) < 0.2, `mean non-zero gradient ${mean}, expected h·θ = 2`);
  t.is(p.excess(at), 0.25);
});

test('Figures 1-2: exact expectations agree with Monte Carlo runs of the problem', (t) => {
  const r = rng(11);
  const rules: Rule[] = [{ kind: 'instance' }, { kind: 'global' }, { kind: 'fixed', rate: 0.7 }];
  for (const rule of rules) {
    for (const [noise, p, n] of [[0.1, 1, 4], [1, 0.1, 16], [0.01, 0.1, 10], [1, 0.5, 3]]) {
      const problem = new NoisyQuadratic(40_000, { noise, density: p });
      const { gain: g, se } = simulatedGain(rule, problem, n, r);
      const exact = gain(rule, noise, n, p);
      t.true(Math.abs(g - exact) < 5 * se + 1e-3, `${rule.kind} σ²=${noise} p=${p} n=${n}: MC ${g} ± ${se}, exact ${exact}`);
    }
  }
  // eq. 3 with m = n collapses to e' = e·σ²/n / (e + σ²/n)
  t.true(Math.abs(expectedAfter({ kind: 'instance' }, 1, 0.5, 5, 1) - 0.1 / 1.1) < 1e-12);
});

test('Figure 1 reproduces the paper\'s numbers: 0.02 at n = 100 for low noise, sparsity postpones', (t) => {
  const rel = (noise: number, n: number, p: number) => gain({ kind: 'instance' }, noise, n, p) / n / gain({ kind: 'instance' }, noise, 1, p);
  t.true(Math.abs(rel(0.01, 100, 1) - 0.02) < 0.001, `${rel(0.01, 100, 1)}`);
  t.true(rel(10, 100, 1) > 0.15, 'high noise: milder diminishing returns');
  t.true(rel(0.01, 100, 0.01) > 0.9, 'sparse gradients with eq. 4 rates postpone them');
  const panels = figure1({ ns: [1, 4, 16, 64], noises: [0.01, 1], densities: [1, 0.1], mcCoordinates: 500, seed: 1 });
  t.is(panels.length, 2);
  for (const c of panels[0].curves) for (let k = 1; k < c.relative.length; k++) t.true(c.relative[k] < c.relative[k - 1]);
});

test('Figure 2: the instance-based count beats the global one and every fixed rate', (t) => {
  const o = { ns: [1, 2, 4, 8, 16, 32, 64, 128], noises: [0.01], densities: [0.1], mcCoordinates: 300, seed: 2 };
  for (const panel of figure2(o, { noises: [0.01, 1], densities: [0.1, 0.01], rates: 40, rateRange: [0.01, 100] })) {
    const [inst, glob] = panel.curves;
    inst.ns.forEach((n, k) => {
      t.true(inst.relative[k] >= glob.relative[k] - 1e-12, `${panel.title} n=${n}`);
      for (const [, m, v] of panel.fixed ?? []) if (m === n) t.true(inst.relative[k] >= v - 1e-12, `${panel.title} n=${n} fixed`);
    });
    // the dent of the global rule is near n = 1/p
    const gap = inst.ns.map((_, k) => inst.relative[k] - glob.relative[k]);
    const at = inst.ns[gap.indexOf(Math.max(...gap))];
    t.true(at >= 0.25 / panel.density && at <= 8 / panel.density, `${panel.title}: largest gap at n = ${at}`);
  }
});

test('Figure 3: eq. 5 weights; the reweighted gradient is close to hard clustering', (t) => {
  const aligned = reweight([1, 2, 2, 4, 3, 6], 3);
  t.deepEqual(aligned.weights.map((w) => +w.toFixed(12)), [1 / 3, 1 / 3, 1 / 3].map((w) => +w.toFixed(12)));
  t.true(Math.abs(aligned.nEff - 3) < 1e-12);
  const orthogonal = reweight([1, 0, 0, 0, 2, 0, 0, 0, 0], 3);
  t.deepEqual(orthogonal.weights, [1, 1, 0]);
  t.deepEqual(orthogonal.direction, [1, 2, 0]);
  const f = figure3();
  const dist = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  t.true(dist(f.reweighted.direction, f.clustered) < 0.5 * dist(f.mean, f.clustered));
  t.true(f.reweighted.nEff > 1 && f.reweighted.nEff < f.n);
  const s = clusterSample(10, rng(1));
  t.is(s.labels.filter((l) => l === 0).length, 8);
});
