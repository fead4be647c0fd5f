import * as check from './check';
import { addon } from './native';

export interface Reweighted {
  /** w_j = 1 / Σ_k |cos(∇j, ∇k)| (0 for a zero row) */
  weights: number[];
  /** Σ_j w_j ∇j */
  direction: number[];
  /** n / Σ_j w_j */
  nEff: number;
}

/** Orthogonal reweighting (eq. 5) of n rows (row-major, n x d), computed by the same native code
 * as `reweight: true`. For analysis; the optimizers apply it themselves. */
export function reweightRows(rows: Float32Array, n: number): Reweighted {
  check.float32(rows, 'rows');
  if (!Number.isInteger(n) || n < 1 || rows.length === 0 || rows.length % n !== 0) {
    throw new RangeError(check.expected(`a Float32Array of n = ${n} whole rows`, 'rows', rows));
  }
  const r = addon.reweight(rows, n);
  return { weights: Array.from(r.weights), direction: Array.from(r.direction), nEff: r.nEff };
}
