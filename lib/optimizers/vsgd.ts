// vSGD with supplied curvature ("bbprop"): the caller passes per-sample diagonal curvature rows.
import { vsgdDefaults, vsgdOptions } from '../options';
import type { AlgoDef, LoadOverrides } from './types';
import { type AdaptiveOptions, CurvatureOptimizer } from './curvature';
import { vsgdConfig } from './vsgdfd';

export type VSGDOptions = AdaptiveOptions;

/** VSGD's state: VSGDfd's without vh (docs/algorithm.md, "State"). */
export interface VSGDState {
  /** running mean of the gradient */
  readonly g: Float32Array;
  /** running mean of the squared gradient */
  readonly v: Float32Array;
  /** running mean of the supplied curvature's magnitude */
  readonly h: Float32Array;
  /** memory τ; <= 0 while bootstrapping, with -τ samples gathered */
  readonly tau: Float32Array;
  /** the rate of the last step */
  readonly eta: Float32Array;
  /** running mean of the share of rows with a non-zero entry: sparsity 'global' only */
  readonly p?: Float32Array;
}

const def: AlgoDef = {
  name: 'VSGD',
  schema: vsgdOptions,
  fields: { g: 'g', v: 'v', h: 'h', tau: 'tau', eta: 'eta', p: 'p' },
  kind: 'curvature',
  // the variants differ in the finite-difference probe only; for vSGD, in the sparsity default
  config: (o) => ({ ...vsgdConfig(o), variant: 0 }),
};

export class VSGD extends CurvatureOptimizer<VSGDState, VSGDOptions> {
  constructor(theta: Float32Array, options: VSGDOptions = {}) {
    super(def, theta, vsgdDefaults(options) as VSGDOptions);
  }

  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): VSGD {
    // a checkpoint saved before the variants existed continues with the method it was saved with
    return VSGD.restore((t, o) => new VSGD(t, { variant: 'paper', ...o } as VSGDOptions), def, theta, bytes, overrides);
  }
}
