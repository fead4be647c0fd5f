// Sparse rows for the sparse benches (bench/sparse.ts, bench/sparse-ab.ts): random CSR rows, their
// shifted values, and a step that cycles through them.
import type { SparseRows, VSGDfd } from '../lib/index.ts';

type Uniform = { uniform(): number };

/** n rows with k sorted distinct indices each in [0, d), values in (−1, 1) away from 0 */
export function csr(n: number, k: number, d: number, r: Uniform): SparseRows {
  const offsets = new Int32Array(n + 1), indices = new Int32Array(n * k), values = new Float32Array(n * k);
  for (let j = 0; j < n; j++) {
    const row = new Set<number>(k === d ? Array.from({ length: d }, (_, i) => i) : []);
    while (row.size < k) row.add(Math.floor(r.uniform() * d));
    indices.set([...row].sort((a, b) => a - b), j * k);
    offsets[j + 1] = (j + 1) * k;
  }
  for (let e = 0; e < values.length; e++) values[e] = (r.uniform() < 0.5 ? -1 : 1) * (0.1 + r.uniform());
  return { offsets, indices, values };
}

export const shiftedOf = (rows: SparseRows) => rows.values.map((v) => v * 1.01 + 1e-3);

/** probeSparse + updateSparse over a cycle of minibatches (so coordinates recur and finish bootstrapping) */
export function sparseStep(opt: VSGDfd, cycle: SparseRows[]): (k: number) => void {
  const shifted = cycle.map(shiftedOf);
  return (k) => {
    const rows = cycle[k % cycle.length];
    opt.probeSparse(rows);
    opt.updateSparse({ ...rows, shifted: shifted[k % cycle.length] });
  };
}
