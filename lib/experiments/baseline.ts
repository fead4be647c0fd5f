// The baselines the real-workload studies tune, built alike for each of them.
import { AdaGrad, Adam, type Optimizer, SGD } from '../index';

export type BaselineName = 'sgd' | 'adagrad' | 'adam';

/** SGD, AdaGrad or Adam at rate `lr` (undefined: the class's default). */
export function baseline(name: BaselineName, theta: Float32Array, o: { lr?: number; minibatch: number; threads: number; comm?: 'mpi' }): Optimizer {
  const options = { lr: o.lr, minibatch: o.minibatch, threads: o.threads, ...(o.comm ? { comm: o.comm } : {}) };
  return name === 'sgd' ? new SGD(theta, options) : name === 'adagrad' ? new AdaGrad(theta, options) : new Adam(theta, options);
}
