// vsgd-fd/tfjs: the package's optimizers as tf.Optimizer subclasses, for model.compile() / fit()
// and for minimize() in custom loops. Needs @tensorflow/tfjs-core (an optional peer dependency).
// VSGD has no adapter: it takes per-sample diagonal curvature rows, which tfjs's gradients do not give.
import {
  AdaGrad, type AdaGradOptions, Adam, type AdamOptions, NaturalGradient, type NaturalGradientOptions,
  SGD, type SGDOptions, VSGDfd, type VSGDfdOptions,
} from '../index';
import { type AdapterOptions, NativeOptimizer } from './optimizer';
import { tf } from './tf';

type Opts<T> = Omit<T, 'minibatch'> & AdapterOptions;

/** vSGD-fd for tfjs models: `model.compile({ optimizer: new VSGDfdOptimizer(), loss })`. */
export class VSGDfdOptimizer extends NativeOptimizer {
  static readonly className = 'vsgd-fd/VSGDfd';
  constructor(options: Opts<VSGDfdOptions> = {}) {
    super(VSGDfd, options);
  }
}

/** The package's SGD (θ ← θ − lr/(1 + decay·t)·ḡ) as a tf.Optimizer. */
export class SGDOptimizer extends NativeOptimizer {
  static readonly className = 'vsgd-fd/SGD';
  constructor(options: Opts<SGDOptions> = {}) {
    super(SGD, options);
  }
}

/** The package's AdaGrad as a tf.Optimizer. */
export class AdaGradOptimizer extends NativeOptimizer {
  static readonly className = 'vsgd-fd/AdaGrad';
  constructor(options: Opts<AdaGradOptions> = {}) {
    super(AdaGrad, options);
  }
}

/** The package's diagonal natural gradient as a tf.Optimizer. */
export class NaturalGradientOptimizer extends NativeOptimizer {
  static readonly className = 'vsgd-fd/NaturalGradient';
  constructor(options: Opts<NaturalGradientOptions> = {}) {
    super(NaturalGradient, options);
  }
}

/** The package's Adam (native, fused) as a tf.Optimizer. */
export class AdamOptimizer extends NativeOptimizer {
  static readonly className = 'vsgd-fd/Adam';
  constructor(options: Opts<AdamOptions> = {}) {
    super(Adam, options);
  }
}

// A model saved with one of these optimizers loads with it (tf.loadLayersModel finds them by className).
for (const cls of [VSGDfdOptimizer, SGDOptimizer, AdaGradOptimizer, NaturalGradientOptimizer, AdamOptimizer]) {
  tf.serialization.registerClass(cls);
}

export { NativeOptimizer, type AdapterOptions, type LossFn, type StepTimes, type TfStepInfo } from './optimizer';
export type { Mode, Slot } from './params';
