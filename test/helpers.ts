// Shared test plumbing: seeded data, optimizer construction by name, native<->reference state.
import {
  AdaGrad, Adam, NaturalGradient, type Optimizer, SGD, VSGD, VSGDfd,
} from '../lib/index.ts';
import { type Algo, type RefOptions, type RefState, refState, rng, type Sparsity } from './reference.ts';

/** Fresh each run unless VSGD_TEST_SEED pins it; every failure message names it. */
export const SEED = process.env.VSGD_TEST_SEED ? Number(process.env.VSGD_TEST_SEED) : (Date.now() ^ (process.pid << 10)) >>> 0;

export interface Setup {
  algo: Algo;
  sparsity: Sparsity;
  minibatch: number;
  bootstrap: number;
  curvatureEvery: number;
  outlierSigmas: number;
  lr: number;
  decay: number;
  reweight?: boolean;
  variant?: 'paper' | 'signed';
}

export function refOptions(s: Setup): RefOptions {
  const adam = s.algo === 'adam';
  return {
    algo: s.algo, sparsity: s.sparsity, bootstrap: s.bootstrap, slowStart: 2,
    epsilon: adam ? 1e-8 : 1e-5, outlierSigmas: s.outlierSigmas,
    lr: s.lr, decay: s.decay, beta1: 0.9, beta2: 0.999, reweight: s.reweight, variant: s.variant ?? 'paper',
  };
}

/** The optimizer of a setup; `more` adds options (comm, minibatch) to every class's. */
export function make(s: Setup, theta: Float32Array, more: { comm?: 'mpi'; minibatch?: number } = {}): Optimizer {
  const v = {
    minibatch: s.minibatch, sparsity: s.sparsity, bootstrap: s.bootstrap, curvatureEvery: s.curvatureEvery, outlierSigmas: s.outlierSigmas,
    variant: s.variant ?? 'paper', ...(s.reweight ? { reweight: true } : {}), ...more,
  };
  const base = { minibatch: s.minibatch, ...more };
  switch (s.algo) {
    case 'vsgdfd': return new VSGDfd(theta, v);
    case 'vsgd': return new VSGD(theta, v);
    case 'sgd': return new SGD(theta, { ...base, lr: s.lr, decay: s.decay });
    case 'adagrad': return new AdaGrad(theta, { ...base, lr: s.lr });
    case 'natural': return new NaturalGradient(theta, { ...base, lr: s.lr });
    case 'adam': return new Adam(theta, { ...base, lr: s.lr });
  }
}

/** public state name -> reference field */
export const REF_FIELD: Record<string, keyof RefState> = { s: 'v', F: 'v', m: 'g' };
export const refField = (name: string): keyof RefState => REF_FIELD[name] ?? (name as keyof RefState);

export function toRef(opt: Optimizer): RefState {
  const r = refState(opt.d);
  for (const [name, view] of Object.entries(opt.state)) r[refField(name)].set(view);
  return r;
}

export const logUniform = (r: () => number, lo: number, hi: number) => lo * Math.pow(hi / lo, r());

export { rng };
