// vSGD-fd: adaptive per-coordinate rates from the gradient's mean and variance and a
// finite-difference curvature (docs/algorithm.md).
import { VARIANTS } from '../names';
import { vsgdDefaults, vsgdOptions } from '../options';
import type { AlgoDef, LoadOverrides, Resolved } from './types';
import { type AdaptiveOptions, CurvatureOptimizer } from './curvature';
import type { SparseRows } from './rows';

export type VSGDfdOptions = AdaptiveOptions;

/** VSGDfd's state, one value per coordinate (docs/algorithm.md, "State"). */
export interface VSGDfdState {
  /** running mean of the gradient */
  readonly g: Float32Array;
  /** running mean of the squared gradient */
  readonly v: Float32Array;
  /** running mean of the finite-difference curvature */
  readonly h: Float32Array;
  /** running mean of its square */
  readonly vh: Float32Array;
  /** memory τ; <= 0 while bootstrapping, with -τ samples gathered */
  readonly tau: Float32Array;
  /** the rate of the last step */
  readonly eta: Float32Array;
  /** running mean of the share of rows with a non-zero entry: sparsity 'global' only */
  readonly p?: Float32Array;
}

export const vsgdConfig = (o: Record<string, unknown>) => {
  const r = o as unknown as Resolved<AdaptiveOptions>;
  return {
    bootstrap: r.bootstrap, slowStart: r.slowStart, epsilon: r.epsilon, outlierSigmas: r.outlierSigmas, reweight: r.reweight,
    variant: VARIANTS.indexOf(r.variant),
  };
};

const def: AlgoDef = {
  name: 'VSGDfd',
  schema: vsgdOptions,
  fields: { g: 'g', v: 'v', h: 'h', vh: 'vh', tau: 'tau', eta: 'eta', p: 'p' },
  kind: 'shifted',
  config: vsgdConfig,
};

export class VSGDfd extends CurvatureOptimizer<VSGDfdState, VSGDfdOptions> {
  constructor(theta: Float32Array, options: VSGDfdOptions = {}) {
    super(def, theta, vsgdDefaults(options) as VSGDfdOptions);
  }

  /** The probe point θ+δ for this step's rows, as a view that the next probe() overwrites.
   * Rows are required while bootstrapping (δ is then their running mean); optional after. When
   * rows are given, update() must bring the same number. */
  probe(grads?: Float32Array): Float32Array {
    return this.probePoint(grads);
  }

  /** probe() for sparse rows: O(nnz) after the first call (see updateSparse). */
  probeSparse(rows: SparseRows): Float32Array {
    return this.probeSparsePoint(rows);
  }

  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): VSGDfd {
    // a checkpoint saved before the variants existed continues with the method it was saved with
    return VSGDfd.restore((t, o) => new VSGDfd(t, { variant: 'paper', ...o } as VSGDfdOptions), def, theta, bytes, overrides);
  }
}
