// The paper's comparison set plus Adam: fixed-rate methods stepping with the plain mean gradient.
import { common, num, type Schema } from '../options';
import { type AlgoDef, type LoadOverrides, type Options, Optimizer } from './base';

interface Common { minibatch?: number; device?: 'auto' | 'cpu' | 'cuda'; threads?: number }
export interface SGDOptions extends Common { lr?: number; decay?: number }
export interface AdaGradOptions extends Common { lr?: number; epsilon?: number }
export interface NaturalGradientOptions extends Common { lr?: number; epsilon?: number }
export interface AdamOptions extends Common { lr?: number; beta1?: number; beta2?: number; epsilon?: number }

const lr = (def: number) => num(def, 0, { open: true });
const eps = (def: number) => num(def, 1e-30); // stays a positive float32
const pick = (o: Options) => ({
  lr: o.lr as number,
  decay: (o.decay as number | undefined) ?? 0,
  epsilon: (o.epsilon as number | undefined) ?? 0,
  beta1: (o.beta1 as number | undefined) ?? 0,
  beta2: (o.beta2 as number | undefined) ?? 0,
});
const make = (id: number, name: string, schema: Schema, fields: AlgoDef['fields']): AlgoDef =>
  ({ id, name, schema: { ...common, ...schema }, fields, extra: null, config: pick });

const sgd = make(2, 'SGD', { lr: lr(0.1), decay: num(0, 0) }, {});
const adagrad = make(3, 'AdaGrad', { lr: lr(0.1), epsilon: eps(1e-5) }, { s: 'v' });
const natural = make(4, 'NaturalGradient', { lr: lr(0.1), epsilon: eps(1e-5) }, { F: 'v' });
const adam = make(5, 'Adam', {
  lr: lr(1e-3), beta1: num(0.9, 0, { below: 1 }), beta2: num(0.999, 0, { below: 1 }), epsilon: eps(1e-8),
}, { m: 'g', v: 'v' });

/** θ ← θ − lr/(1 + decay·t)·ḡ */
export class SGD extends Optimizer {
  constructor(theta: Float32Array, options: SGDOptions = {}) {
    super(sgd, theta, options);
  }
  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): SGD {
    return Optimizer.restore((t, o) => new SGD(t, o), sgd, theta, bytes, overrides);
  }
}

/** s ← s + ḡ²; θ ← θ − lr·ḡ/(√s + ε) */
export class AdaGrad extends Optimizer {
  constructor(theta: Float32Array, options: AdaGradOptions = {}) {
    super(adagrad, theta, options);
  }
  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): AdaGrad {
    return Optimizer.restore((t, o) => new AdaGrad(t, o), adagrad, theta, bytes, overrides);
  }
}

/** Diagonal empirical Fisher: F ← moving average of mean ∇² (r = 1/min(t+1, 100)); θ ← θ − lr·ḡ/(F + ε) */
export class NaturalGradient extends Optimizer {
  constructor(theta: Float32Array, options: NaturalGradientOptions = {}) {
    super(natural, theta, options);
  }
  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): NaturalGradient {
    return Optimizer.restore((t, o) => new NaturalGradient(t, o), natural, theta, bytes, overrides);
  }
}

/** Adam with bias correction. */
export class Adam extends Optimizer {
  constructor(theta: Float32Array, options: AdamOptions = {}) {
    super(adam, theta, options);
  }
  static load(theta: Float32Array, bytes: Uint8Array, overrides?: LoadOverrides): Adam {
    return Optimizer.restore((t, o) => new Adam(t, o), adam, theta, bytes, overrides);
  }
}
