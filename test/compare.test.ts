// Randomized comparisons of every algorithm and option against the float64 reference, each
// scenario in lockstep (test/lockstep.ts has the comparison and its tolerance).
import test from 'ava';
import { run, type Scenario } from './lockstep.ts';
import { logUniform, rng, SEED } from './helpers.ts';

const ALGOS = ['vsgdfd', 'vsgd', 'sgd', 'adagrad', 'natural', 'adam'] as const;
const master = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(master() * xs.length)];
const irand = (lo: number, hi: number) => lo + Math.floor(master() * (hi - lo + 1));

const scenarios: Scenario[] = [];
for (const algo of ALGOS) {
  const sparsities = algo === 'vsgdfd' || algo === 'vsgd' ? (['none', 'instance', 'global'] as const) : (['none'] as const);
  for (const sparsity of sparsities) {
    for (const shape of ['tiny', 'small', 'mid'] as const) {
      const d = shape === 'tiny' ? 1 : shape === 'small' ? irand(2, 300) : irand(1000, 5000);
      const n = shape === 'mid' ? irand(1, 16) : irand(1, 64);
      scenarios.push({
        algo, sparsity, d, minibatch: n, steps: shape === 'mid' ? 12 : 40,
        bootstrap: irand(1, 12), curvatureEvery: pick([1, 1, 2, 3]), outlierSigmas: pick([0, 2, 2, 1]),
        lr: logUniform(master, 1e-3, 1), decay: pick([0, 1]),
        density: sparsity === 'none' ? 1 : 0.1 + 0.8 * master(), hostile: shape !== 'tiny' && master() < 0.5,
      });
    }
  }
}
// the same through sparse rows (CSR), where the bootstrapping count is kept incrementally
for (const algo of ['vsgdfd', 'vsgd'] as const) {
  for (const sparsity of ['instance', 'global'] as const) {
    scenarios.push({
      algo, sparsity, d: irand(2, 400), minibatch: irand(1, 32), steps: 30, bootstrap: irand(1, 8),
      curvatureEvery: pick([1, 2, 3]), outlierSigmas: pick([0, 2]), lr: 0, decay: 0,
      density: 0.05 + 0.5 * master(), hostile: master() < 0.5, csr: true,
    });
  }
}
// orthogonal reweighting (eq. 5): some rows share directions, some are sparse
for (const algo of ['vsgdfd', 'vsgd'] as const) {
  for (const shape of ['small', 'mid'] as const) {
    scenarios.push({
      algo, sparsity: 'none', d: shape === 'small' ? irand(1, 300) : irand(2000, 20000), minibatch: irand(1, 24), steps: 20,
      bootstrap: irand(1, 8), curvatureEvery: pick([1, 2]), outlierSigmas: pick([0, 2]), lr: 0, decay: 0,
      density: pick([1, 0.3]), hostile: shape === 'mid', reweight: true,
    });
  }
}
// vSGD-fd's 'signed' variant (the default) through dense rows of each sparsity, sparse rows and eq. 5
for (const sparsity of ['none', 'instance', 'global'] as const) {
  for (const shape of ['tiny', 'small', 'mid'] as const) {
    const d = shape === 'tiny' ? 1 : shape === 'small' ? irand(2, 300) : irand(1000, 5000);
    const n = shape === 'mid' ? irand(1, 16) : irand(1, 64);
    scenarios.push({
      algo: 'vsgdfd', variant: 'signed', sparsity, d, minibatch: n, steps: shape === 'mid' ? 12 : 40,
      bootstrap: irand(1, 12), curvatureEvery: pick([1, 1, 2, 3]), outlierSigmas: pick([0, 2, 2, 1]), lr: 0, decay: 0,
      density: sparsity === 'none' ? 1 : 0.1 + 0.8 * master(), hostile: shape !== 'tiny' && master() < 0.5,
    });
  }
}
for (const sparsity of ['instance', 'global'] as const) {
  scenarios.push({
    algo: 'vsgdfd', variant: 'signed', sparsity, d: irand(2, 400), minibatch: irand(1, 32), steps: 30, bootstrap: irand(1, 8),
    curvatureEvery: pick([1, 2, 3]), outlierSigmas: pick([0, 2]), lr: 0, decay: 0, density: 0.05 + 0.5 * master(), hostile: master() < 0.5, csr: true,
  });
}
scenarios.push({
  algo: 'vsgdfd', variant: 'signed', sparsity: 'none', d: irand(1, 300), minibatch: irand(1, 24), steps: 20, bootstrap: irand(1, 8),
  curvatureEvery: pick([1, 2]), outlierSigmas: pick([0, 2]), lr: 0, decay: 0, density: pick([1, 0.3]), hostile: false, reweight: true,
});
// the largest shapes of the issue: d = 10^5 and n = 64
scenarios.push({ algo: 'vsgdfd', sparsity: 'none', d: 100_000, minibatch: 64, steps: 3, bootstrap: 64, curvatureEvery: 1, outlierSigmas: 2, lr: 0, decay: 0, density: 1, hostile: true });
scenarios.push({ algo: 'vsgdfd', sparsity: 'instance', d: 100_000, minibatch: 8, steps: 6, bootstrap: 4, curvatureEvery: 2, outlierSigmas: 2, lr: 0, decay: 0, density: 0.3, hostile: false });
scenarios.push({ algo: 'adam', sparsity: 'none', d: 100_000, minibatch: 4, steps: 3, bootstrap: 1, curvatureEvery: 1, outlierSigmas: 0, lr: 1e-2, decay: 0, density: 1, hostile: true });

scenarios.forEach((sc, k) => {
  const { algo, sparsity, d, minibatch, bootstrap, curvatureEvery, outlierSigmas, hostile } = sc;
  const title = `${sc.csr ? 'sparse rows ' : ''}${sc.reweight ? 'reweighted ' : ''}${algo}${sc.variant === 'signed' ? " 'signed'" : ''} ${sparsity} d=${d} n=${minibatch} n0=${bootstrap} every=${curvatureEvery} k=${outlierSigmas}${hostile ? ' hostile' : ''} #${k}`;
  test(title, (t) => {
    const seed = (SEED + k * 7919) >>> 0;
    const problems = run(sc, seed);
    t.deepEqual(problems, [], `seed ${SEED} (VSGD_TEST_SEED=${SEED} reruns this)`);
  });
});
