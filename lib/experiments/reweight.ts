// Figure 3: the plain minibatch mean against the reweighted gradient of eq. 5 (docs/algorithm.md,
// "Orthogonal reweighting"), on two noisy clusters of sample gradients.
import { type ClusterOptions, FIGURE3, clusterSample } from '../problems/clusters';
import { rng } from '../problems/random';
import { type Reweighted, reweightRows } from '../reweight';

export type { Reweighted };

export function reweight(rows: ArrayLike<number>, n: number): Reweighted {
  return reweightRows(Float32Array.from(rows), n);
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
  return { n, samples, labels: Array.from(s.labels), mean, reweighted: reweight(s.rows, n), clustered, options: o };
}
