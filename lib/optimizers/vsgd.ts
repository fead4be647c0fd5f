// vSGD with supplied curvature ("bbprop"): the caller passes per-sample diagonal curvature rows.
import { vsgdOptions } from '../options';
import { type AlgoDef, type LoadOverrides, Optimizer } from './base';
import { type VSGDfdOptions, vsgdConfig } from './vsgdfd';

export type VSGDOptions = VSGDfdOptions;

const def: AlgoDef = {
  id: 1,
  name: 'VSGD',
  schema: vsgdOptions,
  fields: { g: 'g', v: 'v', h: 'h', tau: 'tau', eta: 'eta', p: 'p' },
  extra: 'curvature',
  config: vsgdConfig,
};

export class VSGD extends Optimizer {
  constructor(theta: Float32Array, options: VSGDOptions = {}) {
    super(def, theta, options);
  }

  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): VSGD {
    return Optimizer.restore((t, o) => new VSGD(t, o as VSGDOptions), def, theta, bytes, overrides);
  }
}
