// The public names.
export { VSGDfd, type VSGDfdOptions } from './optimizers/vsgdfd';
export { VSGD, type VSGDOptions } from './optimizers/vsgd';
export {
  SGD, AdaGrad, NaturalGradient, Adam,
  type SGDOptions, type AdaGradOptions, type NaturalGradientOptions, type AdamOptions,
} from './optimizers/baselines';
export { Optimizer, type StepInfo, type GradientFn, type LoadOverrides, type SparseRows } from './optimizers/base';
export { backends } from './backends';
export { reweightRows, type Reweighted } from './reweight';
export type { Backends, CudaStatus } from './native';
