// The paper's Figure 6 protocol (docs/experiments.md, "The suite"). Every algorithm
// setting is one optimizer over all cases x runs coordinates (coordinates are independent), and
// all of them step in lockstep on the same standard normals, drawn once per step for the largest
// minibatch; a smaller n uses the first n rows, so every sample is drawn once and shared.
import { AdaGrad, Adam, NaturalGradient, type Optimizer, SGD, VSGD, VSGDfd } from '../index';
import { type Case, CaseBlocks, LOSSES, type LossName, NOISES, SCALES, expectedExcess } from '../problems/elementary';
import { rng } from '../problems/random';

export type AlgoName = 'sgd' | 'adagrad' | 'natural' | 'vsgd' | 'vsgdfd' | 'adam';
export const ALGOS: readonly AlgoName[] = ['sgd', 'adagrad', 'natural', 'vsgd', 'vsgdfd', 'adam'];
const NAMES: Record<AlgoName, string> = {
  sgd: 'SGD', adagrad: 'AdaGrad', natural: 'natural gradient', vsgd: 'vSGD', vsgdfd: 'vSGD-fd', adam: 'Adam',
};
/** the algorithms with a fixed rate setting, whose every setting the paper says fails somewhere */
export const FIXED_RATE: readonly AlgoName[] = ['sgd', 'adagrad', 'natural'];

export interface GridOptions {
  losses: LossName[];
  algorithms: AlgoName[];
  ns: number[];
  runs: number;
  steps: number;
  seed: number;
  /** η₀ grid of SGD, AdaGrad and natural gradient */
  lrs: number[];
  /** γ grid of SGD */
  decays: number[];
  /** OpenMP threads per optimizer (undefined: the library's default) */
  threads?: number;
}

export const DEFAULTS: GridOptions = {
  losses: [...LOSSES], algorithms: [...ALGOS], ns: [1, 10], runs: 100, steps: 1024, seed: 2013,
  lrs: [0.01, 0.1, 1, 10], decays: [0, 1],
};

export interface Setting {
  id: string;
  algo: AlgoName;
  label: string;
  /** the options passed to the optimizer besides minibatch and threads */
  options: Record<string, number>;
  /** vSGD-fd's variant, when not its default */
  variant?: 'paper';
}

export function settings(o: Pick<GridOptions, 'algorithms' | 'lrs' | 'decays'>): Setting[] {
  const out: Setting[] = [];
  for (const algo of ALGOS) {
    if (!o.algorithms.includes(algo)) continue;
    if (algo === 'sgd') {
      for (const lr of o.lrs) {
        for (const decay of o.decays) out.push({ id: `sgd-${lr}-${decay}`, algo, label: `SGD η₀=${lr} γ=${decay}`, options: { lr, decay } });
      }
    } else if (algo === 'adagrad' || algo === 'natural') {
      for (const lr of o.lrs) out.push({ id: `${algo}-${lr}`, algo, label: `${NAMES[algo]} η₀=${lr}`, options: { lr } });
    } else {
      // vSGD-fd: the paper's method as published, then the library's defaults
      if (algo === 'vsgdfd') out.push({ id: 'vsgdfd-paper', algo, label: "vSGD-fd variant 'paper'", options: {}, variant: 'paper' });
      out.push({ id: algo, algo, label: `${NAMES[algo]} (defaults)`, options: {} });
    }
  }
  return out;
}

/** The cases of the chosen losses, loss-major as in the paper's figures. */
export function gridCases(losses: readonly LossName[]): Case[] {
  const out: Case[] = [];
  for (const loss of LOSSES) {
    if (!losses.includes(loss)) continue;
    for (const A of SCALES) for (const noise of NOISES) out.push({ loss, A, noise });
  }
  return out;
}

/** Steps at which losses are recorded: 0 and the powers of two up to `steps`, and `steps`. */
export function recordSteps(steps: number): number[] {
  const out = [0];
  for (let s = 1; s <= steps; s *= 2) out.push(s);
  if (out[out.length - 1] !== steps) out.push(steps);
  return out;
}

function make(s: Setting, theta: Float32Array, n: number, threads?: number): Optimizer {
  const common = threads === undefined ? { minibatch: n } : { minibatch: n, threads };
  switch (s.algo) {
    case 'sgd': return new SGD(theta, { ...common, ...s.options });
    case 'adagrad': return new AdaGrad(theta, { ...common, ...s.options });
    case 'natural': return new NaturalGradient(theta, { ...common, ...s.options });
    case 'adam': return new Adam(theta, common);
    case 'vsgd': return new VSGD(theta, common);
    case 'vsgdfd': return new VSGDfd(theta, s.variant ? { ...common, variant: s.variant } : common);
  }
}

/** One (setting, n, case) square: what the heatmap and the tables show. */
export interface Square {
  /** expected excess at θ₀ = 1 */
  e0: number;
  /** mean excess over the runs at each recorded step */
  meanExcess: (number | null)[];
  /** log10(excess_0 / mean excess_T) */
  gainMean: number | null;
  /** median and worst of the runs' log10(excess_0 / excess_T) */
  gainMedian: number | null;
  gainWorst: number | null;
  improved: boolean;
  diverged: boolean;
  /** per recorded step, the runs' log10(excess / excess_0) sorted ascending (null: not finite) */
  sorted: (number | null)[][];
  /** the first TRIALS runs' log10(excess / excess_0), unsorted: per run, per recorded step */
  trials: (number | null)[][];
}

/** runs kept unsorted for the learning curves of Figure 5 */
export const TRIALS = 8;

export interface Row {
  setting: Setting;
  n: number;
  squares: Square[];
  improved: number;
  diverged: number;
  /** smallest gainMean over the cases (null when some case's mean loss is not finite) */
  worstGain: number | null;
  worstCase: number;
}

export interface GridResult {
  options: GridOptions;
  cases: Case[];
  steps: number[];
  rows: Row[];
  seconds: number;
}

export type Progress = (done: number, total: number) => void;

/** A training loop's pause: at most every `ms` it reports progress and lets the event loop turn (a
 * progress bar draws, Ctrl-C lands), then throws Interrupted once `signal` has aborted. */
export function pacer(progress: ((done: number, total: number) => void) | undefined, signal: AbortSignal | undefined, ms: number) {
  let last = performance.now();
  return async (done: number, total: number): Promise<void> => {
    if (performance.now() - last <= ms) return;
    progress?.(done, total);
    await new Promise((ok) => setImmediate(ok));
    if (signal?.aborted) throw new Interrupted();
    last = performance.now();
  };
}

export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

// Losses spanning 300 decades are beyond any figure; the cap also keeps exact zeros finite.
const CAP = 300;

export async function runGrid(o: GridOptions, progress?: Progress, signal?: AbortSignal): Promise<GridResult> {
  const start = performance.now();
  const cs = gridCases(o.losses);
  const blocks = new CaseBlocks(cs, o.runs);
  const d = blocks.d;
  const record = recordSteps(o.steps);
  const nmax = Math.max(...o.ns);
  const z = new Float64Array(nmax * d);
  const r = rng(o.seed);
  interface Job { setting: Setting; n: number; theta: Float32Array; opt: Optimizer; fn: (at: Float32Array, out: Float32Array, c?: Float32Array) => void; excess: Float64Array[] }
  const jobs: Job[] = [];
  for (const setting of settings(o)) {
    for (const n of o.ns) {
      const theta = new Float32Array(d).fill(1);
      const fn = (at: Float32Array, out: Float32Array, curv?: Float32Array) => {
        blocks.grads(at, z, n, out);
        if (curv) blocks.curvatures(at, z, n, curv);
      };
      jobs.push({ setting, n, theta, opt: make(setting, theta, n, o.threads), fn, excess: [] });
    }
  }
  const snapshot = (job: Job) => {
    const e = new Float64Array(d);
    blocks.excess(job.theta, e);
    job.excess.push(e);
  };
  try {
    jobs.forEach(snapshot);
    for (let t = 1; t <= o.steps; t++) {
      r.normals(z);
      for (const job of jobs) job.opt.step(job.fn);
      if (record.includes(t)) jobs.forEach(snapshot);
      progress?.(t, o.steps);
      // let a signal handler run and a progress bar draw
      if ((t & 7) === 0 || t === o.steps) await new Promise((ok) => setImmediate(ok));
      if (signal?.aborted) throw new Interrupted();
    }
  } finally {
    for (const job of jobs) job.opt.dispose();
  }
  const rows = jobs.map((job) => summarize(job.setting, job.n, cs, o.runs, job.excess));
  return { options: o, cases: cs, steps: record, rows, seconds: (performance.now() - start) / 1000 };
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const gainOf = (e0: number, e: number): number | null => {
  if (Number.isNaN(e) || e === Infinity) return null;
  return e <= 0 ? CAP : Math.min(CAP, Math.log10(e0 / e)); // e <= 0: rounding at the optimum
};

function summarize(setting: Setting, n: number, cs: Case[], runs: number, excess: Float64Array[]): Row {
  const squares: Square[] = cs.map((c, b) => {
    const e0 = expectedExcess(c, 1);
    const meanExcess: (number | null)[] = [];
    const sorted: (number | null)[][] = [];
    let gains: (number | null)[] = [];
    const trials: (number | null)[][] = Array.from({ length: Math.min(TRIALS, runs) }, () => []);
    for (const e of excess) {
      const runsE = e.subarray(b * runs, (b + 1) * runs);
      let sum = 0;
      for (const x of runsE) sum += x;
      meanExcess.push(finite(sum / runs));
      gains = Array.from(runsE, (x) => gainOf(e0, x));
      // ascending log ratio = descending gain; non-finite losses sort last (worst)
      const ratios = gains.map((g) => (g === null ? null : -g));
      ratios.sort((a, b2) => (a === null ? 1 : b2 === null ? -1 : a - b2));
      sorted.push(ratios.map((x) => (x === null ? null : round3(x))));
      trials.forEach((trial, k) => {
        const g = gains[k];
        trial.push(g === null ? null : round3(-g));
      });
    }
    const last = meanExcess[meanExcess.length - 1];
    const gainMean = last === null ? null : gainOf(e0, last);
    const ok = gains.filter((g): g is number => g !== null).sort((a, b2) => a - b2);
    const broken = gains.length - ok.length; // non-finite runs count as the worst
    const at = (k: number) => (k < broken ? -Infinity : ok[k - broken]);
    const mid = (at(Math.floor((runs - 1) / 2)) + at(Math.ceil((runs - 1) / 2))) / 2;
    const gainMedian = finite(mid);
    const gainWorst = finite(at(0));
    const improved = gainMean !== null && gainMean > 0 && gainMedian !== null && gainMedian > 0;
    const diverged = last === null || last > e0;
    return { e0, meanExcess, gainMean, gainMedian, gainWorst, improved, diverged, sorted, trials };
  });
  let worstGain: number | null = Infinity;
  let worstCase = 0;
  squares.forEach((s, k) => {
    if (worstGain === null) return;
    if (s.gainMean === null) {
      worstGain = null;
      worstCase = k;
    } else if (s.gainMean < worstGain) {
      worstGain = s.gainMean;
      worstCase = k;
    }
  });
  return {
    setting, n, squares,
    improved: squares.filter((s) => s.improved).length,
    diverged: squares.filter((s) => s.diverged).length,
    worstGain, worstCase,
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** A row fails when some case is not improved (no gain, or divergence). */
export const fails = (row: Row) => row.improved < row.squares.length;
