// The public names.
export { VSGDfd, type VSGDfdOptions, type VSGDfdState } from './optimizers/vsgdfd';
export { VSGD, type VSGDOptions, type VSGDState } from './optimizers/vsgd';
export {
  SGD, AdaGrad, NaturalGradient, Adam,
  type SGDOptions, type AdaGradOptions, type NaturalGradientOptions, type AdamOptions,
  type SGDState, type AdaGradState, type NaturalGradientState, type AdamState,
} from './optimizers/baselines';
export { Optimizer } from './optimizers/base';
export type { StepInfo, GradientFn, LoadOverrides, CommonOptions, Resolved } from './optimizers/types';
export { CurvatureOptimizer, type AdaptiveOptions } from './optimizers/curvature';
export type { SparseRows } from './optimizers/rows';
export { backends } from './device';
export { reweightRows, type Reweighted } from './reweight';
export type { Backends, CudaStatus } from './native';
export type { MpiStatus } from './mpi';
