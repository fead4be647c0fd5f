// The paper's comparison set plus Adam: fixed-rate methods stepping with the plain mean gradient.
import { adagradOptions, adamOptions, naturalOptions, type Schema, sgdOptions } from '../options';
import { Optimizer } from './base';
import type { AlgoDef, CommonOptions, LoadOverrides } from './types';

export interface SGDOptions extends CommonOptions {
  /** η₀. Range: a finite float32 > 0. Default: 0.1. */
  lr?: number;
  /** γ: the rate is η₀/(1 + γt) at update t. Range: a finite float32 >= 0. Default: 0. */
  decay?: number;
}
export interface AdaGradOptions extends CommonOptions {
  /** η₀. Range: a finite float32 > 0. Default: 0.1. */
  lr?: number;
  /** ε of the denominator. Range: a finite float32 >= 1e-30. Default: 0.00001. */
  epsilon?: number;
}
export interface NaturalGradientOptions extends CommonOptions {
  /** η₀. Range: a finite float32 > 0. Default: 0.1. */
  lr?: number;
  /** ε of the denominator. Range: a finite float32 >= 1e-30. Default: 0.00001. */
  epsilon?: number;
}
export interface AdamOptions extends CommonOptions {
  /** η₀. Range: a finite float32 > 0. Default: 0.001. */
  lr?: number;
  /** β₁. Range: a number >= 0 and < 1. Default: 0.9. */
  beta1?: number;
  /** β₂. Range: a number >= 0 and < 1. Default: 0.999. */
  beta2?: number;
  /** ε of the denominator. Range: a finite float32 >= 1e-30. Default: 1e-8. */
  epsilon?: number;
}

/** SGD keeps no state. */
export type SGDState = Record<never, never>;
/** AdaGrad's state. */
export interface AdaGradState {
  /** sum of the squared mean gradients */
  readonly s: Float32Array;
}
/** NaturalGradient's state. */
export interface NaturalGradientState {
  /** the diagonal empirical Fisher: a moving average of the mean squared gradient */
  readonly F: Float32Array;
}
/** Adam's state. */
export interface AdamState {
  /** first moment */
  readonly m: Float32Array;
  /** second moment */
  readonly v: Float32Array;
}

const pick = (o: Record<string, unknown>) => ({
  lr: o.lr as number,
  decay: (o.decay as number | undefined) ?? 0,
  epsilon: (o.epsilon as number | undefined) ?? 0,
  beta1: (o.beta1 as number | undefined) ?? 0,
  beta2: (o.beta2 as number | undefined) ?? 0,
});
const make = (name: AlgoDef['name'], schema: Schema, fields: AlgoDef['fields']): AlgoDef => ({ name, schema, fields, kind: null, config: pick });

const sgd = make('SGD', sgdOptions, {});
const adagrad = make('AdaGrad', adagradOptions, { s: 'v' });
const natural = make('NaturalGradient', naturalOptions, { F: 'v' });
const adam = make('Adam', adamOptions, { m: 'g', v: 'v' });

/** θ ← θ − lr/(1 + decay·t)·ḡ */
export class SGD extends Optimizer<SGDState, SGDOptions> {
  constructor(theta: Float32Array, options: SGDOptions = {}) {
    super(sgd, theta, options);
  }
  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): SGD {
    return SGD.restore((t, o) => new SGD(t, o as SGDOptions), sgd, theta, bytes, overrides);
  }
}

/** s ← s + ḡ²; θ ← θ − lr·ḡ/(√s + ε) */
export class AdaGrad extends Optimizer<AdaGradState, AdaGradOptions> {
  constructor(theta: Float32Array, options: AdaGradOptions = {}) {
    super(adagrad, theta, options);
  }
  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): AdaGrad {
    return AdaGrad.restore((t, o) => new AdaGrad(t, o as AdaGradOptions), adagrad, theta, bytes, overrides);
  }
}

/** Diagonal empirical Fisher: F ← moving average of mean ∇² (r = 1/min(t+1, 100)); θ ← θ − lr·ḡ/(F + ε) */
export class NaturalGradient extends Optimizer<NaturalGradientState, NaturalGradientOptions> {
  constructor(theta: Float32Array, options: NaturalGradientOptions = {}) {
    super(natural, theta, options);
  }
  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): NaturalGradient {
    return NaturalGradient.restore((t, o) => new NaturalGradient(t, o as NaturalGradientOptions), natural, theta, bytes, overrides);
  }
}

/** Adam with bias correction. */
export class Adam extends Optimizer<AdamState, AdamOptions> {
  constructor(theta: Float32Array, options: AdamOptions = {}) {
    super(adam, theta, options);
  }
  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): Adam {
    return Adam.restore((t, o) => new Adam(t, o as AdamOptions), adam, theta, bytes, overrides);
  }
}
