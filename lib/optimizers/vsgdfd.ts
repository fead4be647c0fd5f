// vSGD-fd: adaptive per-coordinate rates from gradient mean, variance and finite-difference
// curvature (SPEC.md, docs/algorithm.md).
import { vsgdOptions } from '../options';
import { type AlgoDef, type LoadOverrides, type Options, Optimizer, type SparseRows } from './base';

export interface VSGDfdOptions {
  minibatch?: number;
  sparsity?: 'none' | 'instance' | 'global';
  curvatureEvery?: number;
  bootstrap?: number;
  slowStart?: number;
  epsilon?: number;
  outlierSigmas?: number;
  /** orthogonal reweighting of the rows (eq. 5), dense rows on the CPU */
  reweight?: boolean;
  device?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
}

export const vsgdConfig = (o: Options) => ({
  bootstrap: o.bootstrap as number,
  slowStart: o.slowStart as number,
  epsilon: o.epsilon as number,
  outlierSigmas: o.outlierSigmas as number,
  reweight: o.reweight === true,
});

const def: AlgoDef = {
  id: 0,
  name: 'VSGDfd',
  schema: vsgdOptions,
  fields: { g: 'g', v: 'v', h: 'h', vh: 'vh', tau: 'tau', eta: 'eta', p: 'p' },
  extra: 'shifted',
  config: vsgdConfig,
};

export class VSGDfd extends Optimizer {
  constructor(theta: Float32Array, options: VSGDfdOptions = {}) {
    super(def, theta, options);
  }

  /** The probe point θ+δ for this step's rows, as a view that the next probe() overwrites.
   * Rows are required while bootstrapping (δ is then their running mean); optional after. */
  probe(grads?: Float32Array): Float32Array {
    return this.probePoint(grads);
  }

  /** probe() for sparse rows: O(nnz) after the first call (see updateSparse). */
  probeSparse(rows: SparseRows): Float32Array {
    return this.probeSparsePoint(rows);
  }

  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): VSGDfd {
    return Optimizer.restore((t, o) => new VSGDfd(t, o as VSGDfdOptions), def, theta, bytes, overrides);
  }
}
