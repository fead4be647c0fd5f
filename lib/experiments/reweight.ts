// Figure 3: the plain minibatch mean against the reweighted gradient of eq. 5 (SPEC.md,
// "Orthogonal reweighting"), on two noisy clusters of sample gradients. The optimizers do not
// expose eq. 5 yet, so the weights are computed here, for the figure only.
import { type ClusterOptions, FIGURE3, clusterSample } from '../problems/clusters';
import { rng } from '../problems/random';

export interface Reweighted {
  /** w_j = 1 / Σ_k |cos(∇j, ∇k)| (0 for a zero row) */
  weights: number[];
  /** Σ_j w_j ∇j */
  direction: number[];
  /** n / Σ_j w_j */
  nEff: number;
}

export function reweight(rows: ArrayLike<number>, n: number, d: number): Reweighted {
  const norm = Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < d; i++) s += rows[j * d + i] ** 2;
    return Math.sqrt(s);
  });
  const weights = norm.map((nj, j) => {
    if (nj === 0) return 0;
    let sum = 0;
    for (let k = 0; k < n; k++) {
      if (norm[k] === 0) continue;
      let dot = 0;
      for (let i = 0; i < d; i++) dot += rows[j * d + i] * rows[k * d + i];
      sum += Math.abs(dot) / (nj * norm[k]);
    }
    return 1 / sum;
  });
  const direction = Array.from({ length: d }, (_, i) => weights.reduce((s, w, j) => s + w * rows[j * d + i], 0));
  const total = weights.reduce((a, b) => a + b, 0);
  return { weights, direction, nEff: n / total };
}

export interface Figure3 {
  n: number;
  samples: number[][];
  labels: number[];
  mean: number[];
  reweighted: Reweighted;
  /** what a hard clustering would give: the sum of the two cluster means */
  clustered: number[];
  options: ClusterOptions;
}

export function figure3(n = 10, seed = 2013, o: ClusterOptions = FIGURE3): Figure3 {
  const s = clusterSample(n, rng(seed), o);
  const samples = Array.from({ length: n }, (_, j) => Array.from(s.rows.subarray(j * s.d, (j + 1) * s.d)));
  const mean = Array.from({ length: s.d }, (_, i) => samples.reduce((a, row) => a + row[i], 0) / n);
  const clustered = Array.from({ length: s.d }, (_, i) => {
    let total = 0;
    for (const label of [0, 1]) {
      const members = samples.filter((_, j) => s.labels[j] === label);
      total += members.reduce((a, row) => a + row[i], 0) / members.length;
    }
    return total;
  });
  return { n, samples, labels: Array.from(s.labels), mean, reweighted: reweight(s.rows, n, s.d), clustered, options: o };
}
