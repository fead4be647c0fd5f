// Figure 3's sample gradients: d-dimensional vectors from two noisy clusters of unequal
// frequency. The counts are fixed by the frequencies (not drawn) so that a small minibatch
// always shows both clusters; the noise around each center is Gaussian.
import type { Rng } from './random';

export interface ClusterOptions {
  /** the two cluster centers, each of length d */
  centers: [number[], number[]];
  /** share of the minibatch from the first cluster (the second gets the rest) */
  share: number;
  /** standard deviation of each coordinate around its center */
  spread: number;
}

export const FIGURE3: ClusterOptions = { centers: [[1.2, 0.02], [0.02, 0.8]], share: 0.8, spread: 0.05 };

export interface ClusterSample {
  /** n rows of d, row-major */
  rows: Float64Array;
  /** cluster of each row, 0 or 1 */
  labels: Uint8Array;
  n: number;
  d: number;
}

export function clusterSample(n: number, r: Rng, o: ClusterOptions = FIGURE3): ClusterSample {
  const d = o.centers[0].length;
  const first = Math.min(n - 1, Math.max(1, Math.round(o.share * n)));
  const rows = new Float64Array(n * d);
  const labels = new Uint8Array(n);
  const z = new Float64Array(n * d);
  r.normals(z);
  for (let j = 0; j < n; j++) {
    labels[j] = j < first ? 0 : 1;
    const c = o.centers[labels[j]];
    for (let i = 0; i < d; i++) rows[j * d + i] = c[i] + o.spread * z[j * d + i];
  }
  return { rows, labels, n, d };
}
