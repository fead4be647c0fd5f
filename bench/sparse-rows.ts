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

/** Every page of theta and the state written once, as in a run that has gone on a while: the first
 * write to a fresh page costs a page fault, which no timing of a step or a probe should include. */
export function touched(opt: VSGDfd): VSGDfd {
  opt.theta.fill(0);
  for (const v of Object.values(opt.state)) v.fill(0);
  opt.invalidate();
  return opt;
}

type Triad = (a: Float32Array, b: Float32Array, c: Float32Array, s: number, threads: number) => void;
/** `passes` passes over 96 MiB (the triad on 3 × 32 MiB, past any L3 here): the caches hold none of
 * what came before. One pass is not enough here: part of what a step and the probe on the same
 * indices touched outlives it, and a cycle timed after one pass ran faster than after four, which
 * ran as fast as after eight (`bench/sparse-ab.ts`, part 4). */
export function cacheFlush(triad: Triad, passes = 4): () => void {
  const f = [0, 1, 2].map(() => new Float32Array(1 << 23).fill(1));
  return () => {
    for (let p = 0; p < passes; p++) triad(f[0], f[1], f[2], 0.5, 0);
  };
}

/** probeSparse + updateSparse over a cycle of minibatches (so coordinates recur and finish bootstrapping) */
export function sparseStep(opt: VSGDfd, cycle: SparseRows[]): (k: number) => void {
  const shifted = cycle.map(shiftedOf);
  return (k) => {
    const rows = cycle[k % cycle.length];
    opt.probeSparse(rows);
    opt.updateSparse({ ...rows, shifted: shifted[k % cycle.length] });
  };
}

type ScatterProbe = (arrays: Float32Array[], out: Float32Array, indices: Int32Array) => void;
/** The random-update probe of a step over `cycle`: theta and the six state arrays read and written,
 * and the probe point written, at the rows' indices, and nothing else (addon.scatterProbe) */
export function randomUpdateProbe(scatterProbe: ScatterProbe, opt: VSGDfd, cycle: SparseRows[]): (k: number) => void {
  const st = opt.state, out = opt.probeSparse(cycle[0]);
  const arrays = [opt.theta, st.g, st.v, st.h, st.vh, st.tau, st.eta];
  return (k) => scatterProbe(arrays, out, cycle[k % cycle.length].indices);
}
