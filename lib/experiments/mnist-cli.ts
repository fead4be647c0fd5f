// `vsgd-fd train mnist`: one training run (or, with --study, the study of docs/mnist.md) on the
// native optimizers; lib/cli.ts gives it the progress reporter and Ctrl-C.
import path from 'node:path';
import { loadMnist } from '../data/mnist';
import { type MnistAlgo, type MnistResult, type MnistTrainOptions, train } from './mnist';
import { MNIST_STUDY, runStudy, studyTables, writeStudyOutputs } from './mnist-study';

export interface MnistFlags {
  algorithm: MnistAlgo;
  hidden: number[];
  minibatch?: number;
  epochs: number;
  lr?: number;
  momentum?: number;
  sparsity?: 'none' | 'instance' | 'global';
  variant?: string;
  bootstrap?: number;
  trainSize?: number;
  seed: number;
  json?: boolean;
  study?: boolean;
  out?: string;
  /** started by an MPI launcher: one rank of a data-parallel job (docs/distributed.md) */
  comm?: 'mpi';
}

export interface Progress {
  start(total: number): void;
  update(done: number, stage: string): void;
  stop(): void;
}

const NAMES: Record<MnistAlgo, string> = { vsgdfd: 'vSGD-fd', sgd: 'SGD', momentum: 'momentum SGD', adagrad: 'AdaGrad', adam: 'Adam' };

/** Runs the command and returns what it prints. */
export async function mnistCommand(f: MnistFlags, progress: Progress, signal: AbortSignal): Promise<string> {
  const loadStart = performance.now();
  const data = loadMnist();
  const loadSeconds = (performance.now() - loadStart) / 1000;
  if (f.study && f.comm) throw new Error('train mnist --study runs in one process; start it without mpirun');
  if (f.study) {
    const out = f.out ?? 'report/mnist';
    const file = path.join(out, 'mnist-study.json');
    progress.start(1);
    const s = await runStudy(data, MNIST_STUDY, file, (done, total, stage) => progress.update(done / total, stage), signal);
    progress.stop();
    writeStudyOutputs(s, out);
    return f.json ? JSON.stringify(s) : `${studyTables(s)}\n\nfigure, tables and every number in ${path.resolve(out)}`;
  }
  const vsgd = {
    ...(f.sparsity ? { sparsity: f.sparsity } : {}), ...(f.variant ? { variant: f.variant } : {}), ...(f.bootstrap ? { bootstrap: f.bootstrap } : {}),
  };
  const n = f.minibatch ?? 32;
  progress.start(1);
  const r: MnistResult = await train(data, {
    algorithm: f.algorithm, hidden: f.hidden, minibatch: n, epochs: f.epochs, seed: f.seed, trainSize: f.trainSize, diagnose: f.algorithm === 'vsgdfd',
    ...(f.comm ? { comm: f.comm } : {}),
    ...(f.algorithm === 'vsgdfd' ? { vsgd: vsgd as MnistTrainOptions['vsgd'] } : { lr: f.lr, momentum: f.momentum }),
  }, (done, total) => progress.update(done / total, `epoch ${Math.min(f.epochs, Math.floor((done / total) * f.epochs) + 1)}/${f.epochs}`), signal);
  progress.stop();
  if (f.json) return JSON.stringify({ problem: 'mnist', ...r, loadSeconds });
  const how = f.algorithm === 'vsgdfd' ? (Object.keys(vsgd).length ? JSON.stringify(vsgd) : 'defaults') : `η₀ = ${f.lr ?? 'default'}`;
  const lines = [
    `mnist: ${NAMES[f.algorithm]} (${how}), MLP ${r.sizes.join('-')}, n = ${n}${r.ranks > 1 ? ` per rank × ${r.ranks} MPI ranks` : ''}, ${f.epochs} epoch${f.epochs === 1 ? '' : 's'}, ${r.samples / f.epochs} training digits per epoch`,
    `held-out accuracy ${(100 * r.accuracy).toFixed(2)} %, log-loss ${r.logLoss.toFixed(4)} (training log-loss ${r.train.logLoss.toFixed(4)}); ${r.samples} samples in ${r.seconds.toFixed(1)} s (loading ${loadSeconds.toFixed(1)} s)`,
  ];
  for (const L of r.diagnostics ?? []) {
    lines.push(`  ${L.name.padEnd(3)} ${String(L.size).padStart(6)} coordinates, ${String(L.bootstrapping).padStart(6)} bootstrapping; medians: rate ${L.eta.toExponential(1)}, ` +
      `h / diagonal Hessian ${L.curvatureRatio.toPrecision(3)}, g²/v ${L.gradientSnr.toExponential(1)}, h²/vh ${L.curvatureSteadiness.toExponential(1)}, τ ${L.memory.toFixed(0)}`);
  }
  return lines.join('\n');
}
