#!/usr/bin/env node
// The command line: a thin shell over lib/experiments. `vsgd-fd simulate` runs the paper's
// experiments and writes the report folder.
import fs from 'node:fs';
import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ALGOS, type AlgoName, DEFAULTS, type GridOptions, Interrupted, runGrid } from './experiments/elementary';
import { FIGURE1, figure1, figure2 } from './experiments/minibatch';
import { canvasModule } from './experiments/plot';
import { type Results, reportFiles, resultsJson, showGain, writeReport } from './experiments/report';
import { figure3 } from './experiments/reweight';
import { comparisonMarkdown, comparisonPng, type Rule, SPAM_ALGOS, type SpamAlgo, STUDY, study, sweepPng, sweepTable, train } from './experiments/spam';
import { optional } from './optional';
import { MNIST_ALGOS } from './experiments/mnist';
import { type MnistFlags, mnistCommand } from './experiments/mnist-cli';
import { launched, mpiStatus } from './mpi';
import { LOSSES, type LossName } from './problems/elementary';
import { loadSpam } from './problems/spam';

const version = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

const integer = (min: number) => (v: string) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return x;
};
const seedArg = (v: string) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new InvalidArgumentError('expected an integer in [0, 4294967295]');
  return x;
};
const numbers = (check: (x: number) => boolean, what: string) => (v: string) => {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || !xs.every((x) => Number.isFinite(x) && check(x))) throw new InvalidArgumentError(`expected a comma-separated list of ${what}`);
  return xs;
};
const names = <T extends string>(known: readonly T[]) => (v: string) => {
  const xs = v.split(',').map((s) => s.trim());
  const bad = xs.filter((x) => !known.includes(x as T));
  if (bad.length) throw new InvalidArgumentError(`unknown ${bad.join(', ')}; known: ${known.join(', ')}`);
  return known.filter((k) => xs.includes(k));
};

interface SimulateFlags {
  out: string;
  functions: LossName[];
  algorithms: AlgoName[];
  n: number[];
  runs: number;
  steps: number;
  seed: number;
  lr: number[];
  decay: number[];
  threads: number;
  heatmapCopy?: string;
  progress?: boolean;
}

/** Progress: a bar on a terminal, a plain line per tenth otherwise. */
function reporter(show: boolean, name: string) {
  const tty = show && process.stderr.isTTY;
  const bar = tty ? new SingleBar({ format: `${name} |{bar}| {percentage}% | {stage} | {duration}s elapsed, ETA {eta}s`, stream: process.stderr, hideCursor: true }, Presets.shades_classic) : null;
  let total = 0;
  let lastTenth = -1;
  const start = performance.now();
  return {
    start(t: number) {
      total = t;
      bar?.start(t, 0, { stage: 'starting' });
    },
    update(done: number, stage: string) {
      if (bar) bar.update(done, { stage });
      else if (show) {
        const tenth = Math.floor((10 * done) / total);
        if (tenth !== lastTenth) {
          lastTenth = tenth;
          console.error(`${name}: ${stage} (${Math.round((100 * done) / total)}%, ${((performance.now() - start) / 1000).toFixed(1)} s)`);
        }
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

type Reporter = ReturnType<typeof reporter>;

/** Runs a command's body with a progress reporter and Ctrl-C as an abort signal: an interrupted
 * body ends with `message` and exit status 130; other errors propagate. */
async function interruptible(name: string, show: boolean, message: string, body: (progress: Reporter, signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const progress = reporter(show, name);
  try {
    await body(progress, controller.signal);
  } catch (err) {
    progress.stop();
    if (!(err instanceof Interrupted || controller.signal.aborted)) throw err;
    console.error(message);
    process.exitCode = 130;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

async function simulate(f: SimulateFlags): Promise<void> {
  canvasModule(); // the figures need it: say so before the grid runs, not after
  const options: GridOptions = {
    losses: f.functions, algorithms: f.algorithms, ns: f.n, runs: f.runs, steps: f.steps, seed: f.seed, lrs: f.lr, decays: f.decay, threads: f.threads,
  };
  const extra = 3; // figures 1-3 and the rendering, after the grid's steps
  const start = performance.now();
  await interruptible('simulate', f.progress ?? true, 'simulate: interrupted; no report was written', async (progress, signal) => {
    progress.start(f.steps + extra);
    const grid = await runGrid(options, (t, all) => progress.update(t, `grid step ${t}/${all}`), signal);
    const tick = async (k: number, stage: string) => {
      progress.update(f.steps + k, stage);
      await new Promise((ok) => setImmediate(ok));
      if (signal.aborted) throw new Interrupted();
    };
    await tick(0, 'figures 1 and 2');
    const mb = { ...FIGURE1, seed: f.seed };
    const f1 = figure1(mb);
    const f2 = figure2(mb);
    await tick(1, 'figure 3');
    const f3 = figure3(10, f.seed);
    await tick(2, 'rendering');
    const results: Results = {
      grid, figure1: f1, figure2: f2, figure3: f3, version,
      command: ['vsgd-fd', ...process.argv.slice(2)].join(' '), seconds: 0,
    };
    results.seconds = (performance.now() - start) / 1000;
    const files = reportFiles(results);
    await tick(3, 'writing');
    writeReport(f.out, files, signal);
    if (f.heatmapCopy) writeCopy(f.heatmapCopy, files.get('figure6.png') as Buffer);
    progress.stop();
    printSummary(results, path.resolve(f.out));
  });
}

function writeCopy(file: string, data: Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function printSummary(r: Results, out: string): void {
  const json = resultsJson(r);
  const lines = [`robustness (improved / diverged / worst gain of the mean), ${r.grid.options.runs} runs x ${r.grid.options.steps} updates, seed ${r.grid.options.seed}:`];
  const ids = [...new Set(json.elementary.rows.map((x) => x.id))];
  for (const id of ids) {
    const rows = json.elementary.rows.filter((x) => x.id === id);
    const cells = rows.map((x) => `n=${x.n}: ${String(x.improved).padStart(2)}/${x.squares.length} ${String(x.diverged).padStart(2)} ${showGain(x.worstGain).padStart(8)}`);
    lines.push(`  ${rows[0].label.padEnd(26)} ${cells.join('   ')}`);
  }
  lines.push(`grid ${r.grid.seconds.toFixed(1)} s, all ${r.seconds.toFixed(1)} s; report: ${out}`);
  console.log(lines.join('\n'));
}

interface TrainFlags {
  algorithm: SpamAlgo;
  sparsity?: Rule;
  minibatch?: number;
  epochs: number;
  bits?: number;
  counts: 'binary' | 'log';
  lr?: number;
  bootstrap?: number;
  variant?: 'signed' | 'paper';
  probe: 'joint' | 'diagonal';
  seed: number;
  json?: boolean;
  study?: boolean;
  out?: string;
  progress?: boolean;
  tfjs?: boolean;
  backend: 'cpu' | 'wasm';
  model: 'mlp' | 'cnn';
  trainSize?: number;
  testSize?: number;
  microbatches?: number;
}

const NAMES: Record<SpamAlgo, string> = { vsgdfd: 'vSGD-fd', sgd: 'SGD', adagrad: 'AdaGrad', adam: 'Adam' };

// `train mnist --tfjs`: a TensorFlow.js model (lib/experiments/tfjs-study.ts, which loads tfjs).
async function trainTfjs(f: TrainFlags, cmd: Command): Promise<void> {
  const given = (name: string) => cmd.getOptionValueSource(name) !== 'default';
  if (launched()) throw new Error('train mnist --tfjs runs in one process; start it without mpirun (the native model, without --tfjs, takes its ranks)');
  optional('@tensorflow/tfjs', 'train mnist --tfjs');
  if (f.study) canvasModule(); // the figure needs it: say so before the runs
  const { tfjsCommand } = await import('./experiments/tfjs-study');
  await interruptible('train', f.progress ?? true, 'train: interrupted (finished study runs are kept)', (progress, signal) =>
    tfjsCommand({
      ...f, batchSize: f.minibatch ?? 128, out: f.out ?? 'report/tfjs-mnist',
      backend: given('backend') ? f.backend : f.model === 'cnn' ? 'cpu' : 'wasm',
    }, progress, signal, writeCopy));
}

async function trainSpam(flags: TrainFlags): Promise<void> {
  if (!(SPAM_ALGOS as readonly string[]).includes(flags.algorithm)) throw new Error(`spam takes --algorithm ${SPAM_ALGOS.join(', ')}, not ${flags.algorithm}`);
  const f = { ...flags, sparsity: flags.sparsity ?? 'instance', minibatch: flags.minibatch ?? 1, out: flags.out ?? 'report/spam' };
  // started by mpirun: one rank of a data-parallel job (docs/distributed.md); rank 0 prints
  const mpi = launched() ? mpiStatus() : null;
  const speaks = !mpi || mpi.rank === 0;
  await interruptible('train', (f.progress ?? true) && speaks, 'train: interrupted', async (progress, signal) => {
    if (mpi && f.study) throw new Error('train spam --study runs in one process; start it without mpirun');
    const loadStart = performance.now();
    // the study's baselines take dense rows, hence its smaller default hash
    const data = loadSpam({ bits: f.bits ?? (f.study ? 14 : 18), counts: f.counts });
    const loadSeconds = (performance.now() - loadStart) / 1000;
    if (f.study) return await spamStudy(f, data, progress, signal);
    const algo = f.algorithm;
    const vsgd = { sparsity: f.sparsity, probe: f.probe, diagnose: true, vsgd: { ...(f.bootstrap ? { bootstrap: f.bootstrap } : {}), ...(f.variant ? { variant: f.variant } : {}) } };
    const run = { algorithm: algo, minibatch: f.minibatch, epochs: f.epochs, seed: f.seed, ...(mpi ? { comm: 'mpi' as const } : {}), ...(algo === 'vsgdfd' ? vsgd : { lr: f.lr }) };
    progress.start(1);
    const r = await train(data, run, (done, total) => progress.update(done / total, `epoch ${Math.min(f.epochs, Math.floor((done / total) * f.epochs) + 1)}/${f.epochs}`), signal);
    progress.stop();
    const out = {
      problem: 'spam', algorithm: algo, ...(algo === 'vsgdfd' ? { variant: f.variant ?? 'signed', sparsity: f.sparsity, bootstrap: f.bootstrap ?? 10, probe: f.probe } : { lr: f.lr ?? null }), minibatch: f.minibatch, epochs: f.epochs,
      bits: data.bits, d: data.d, counts: f.counts, seed: f.seed, train: data.train.labels.length, test: data.test.labels.length,
      nnzPerRow: data.train.indices.length / data.train.labels.length,
      ranks: r.ranks, accuracy: r.accuracy, logLoss: r.logLoss, seconds: r.seconds, loadSeconds, samples: r.samples, steps: r.steps,
      ...(r.diagnostics ? { diagnostics: r.diagnostics } : {}),
    };
    if (!speaks) return;
    if (f.json) console.log(JSON.stringify(out));
    else {
      const how = algo === 'vsgdfd' ? `variant '${f.variant ?? 'signed'}', sparsity '${f.sparsity}'` : `η₀ = ${f.lr ?? 'default'}`;
      console.log(`spam: ${NAMES[algo]} (${how}), n = ${f.minibatch}${r.ranks > 1 ? ` per rank × ${r.ranks} MPI ranks` : ''}, ${f.epochs} epoch${f.epochs === 1 ? '' : 's'}, d = 2^${data.bits} + 1 (bias), ${out.train} train / ${out.test} held-out messages`);
      console.log(`held-out accuracy ${r.accuracy.toFixed(4)}, log-loss ${r.logLoss.toFixed(4)}; ${r.samples} samples in ${r.seconds.toFixed(1)} s (loading ${loadSeconds.toFixed(1)} s)`);
      const g = r.diagnostics;
      if (g) {
        console.log(`features past bootstrap ${g.moving} of ${g.seen} seen; medians over those: rate ${g.eta.toExponential(2)}, curvature estimate / diagonal Hessian ${g.curvatureRatio.toPrecision(3)}, ` +
          `g²/v ${g.gradientSnr.toPrecision(2)}, h²/vh ${g.curvatureSteadiness.toPrecision(2)}`);
      }
    }
  });
}

async function trainMnist(f: MnistFlags & { progress?: boolean }): Promise<void> {
  // started by mpirun: one rank of a data-parallel job (docs/distributed.md); rank 0 prints
  const mpi = launched() ? mpiStatus() : null;
  const speaks = !mpi || mpi.rank === 0;
  await interruptible('train', (f.progress ?? true) && speaks, f.study ? 'train: interrupted; the finished runs are kept in the study file' : 'train: interrupted', async (progress, signal) => {
    const out = await mnistCommand({ ...f, out: f.out ?? 'report/mnist', ...(mpi ? { comm: 'mpi' as const } : {}) }, progress, signal);
    if (speaks) console.log(out);
  });
}

async function spamStudy(f: TrainFlags & { out: string }, data: ReturnType<typeof loadSpam>, progress: Reporter, signal: AbortSignal): Promise<void> {
  const start = performance.now();
  progress.start(1);
  const r = await study(data, STUDY, (done, total, stage) => progress.update(done / total, stage), signal);
  progress.stop();
  const command = ['vsgd-fd', ...process.argv.slice(2)].join(' ');
  const json = { command, version, bits: data.bits, seconds: (performance.now() - start) / 1000, ...r };
  fs.mkdirSync(f.out, { recursive: true });
  writeCopy(path.join(f.out, 'spam-baselines.png'), comparisonPng(r));
  writeCopy(path.join(f.out, 'spam-minibatch.png'), sweepPng(r));
  writeCopy(path.join(f.out, 'spam-study.json'), Buffer.from(`${JSON.stringify(json)}\n`));
  writeCopy(path.join(f.out, 'spam-study.md'), Buffer.from(`${comparisonMarkdown(r)}\n`));
  if (f.json) {
    console.log(JSON.stringify(json));
    return;
  }
  const lines = [comparisonMarkdown(r)];
  lines.push('', `samples to held-out log-loss ${STUDY.targets.join(' / ')} (mean of seeds ${STUDY.seeds.join(', ')}; - : not within ${STUDY.maxEpochs} epochs):`);
  lines.push(`| n | ${STUDY.rules.join(' | ')} |`, `|---|${STUDY.rules.map(() => '---|').join('')}`);
  const table = sweepTable(r);
  for (const n of STUDY.ns) {
    const cells = STUDY.rules.map((rule) => (table.find((x) => x.rule === rule && x.n === n)?.samples ?? []).map((s) => s ?? '-').join(' / '));
    lines.push(`| ${n} | ${cells.join(' | ')} |`);
  }
  lines.push('', `${json.seconds.toFixed(0)} s; figures and numbers in ${path.resolve(f.out)}`);
  console.log(lines.join('\n'));
}

export function program(): Command {
  const p = new Command('vsgd-fd').description('vSGD-fd (Schaul & LeCun 2013): the paper\'s experiments').version(version);
  p.command('simulate')
    .description('run the elementary test suite (Figures 5 and 6) and Figures 1-3, and write a report folder')
    .option('-o, --out <dir>', 'report folder (replaced as a whole at the end)', 'report')
    .option('--functions <list>', `losses, from ${LOSSES.join(',')}`, names(LOSSES), [...DEFAULTS.losses])
    .option('--algorithms <list>', `algorithms, from ${ALGOS.join(',')}`, names(ALGOS), [...DEFAULTS.algorithms])
    .option('-n, --n <list>', 'minibatch sizes', numbers((x) => Number.isInteger(x) && x >= 1, 'positive integers'), [...DEFAULTS.ns])
    .option('--runs <k>', 'independent runs per case', integer(1), DEFAULTS.runs)
    .option('--steps <k>', 'updates per run', integer(1), DEFAULTS.steps)
    .option('--seed <k>', 'random seed', seedArg, DEFAULTS.seed)
    .option('--lr <list>', 'η₀ grid of SGD, AdaGrad and natural gradient', numbers((x) => x > 0, 'positive numbers'), [...DEFAULTS.lrs])
    .option('--decay <list>', 'γ grid of SGD', numbers((x) => x >= 0, 'non-negative numbers'), [...DEFAULTS.decays])
    .option('--threads <k>', 'OpenMP threads per optimizer (1 is fastest here: each call is small)', integer(1), 1)
    .option('--heatmap-copy <file>', 'also write the Figure 6 heatmap PNG to this file')
    .addOption(new Option('--no-progress', 'no progress output'))
    .action(async (flags: SimulateFlags) => simulate(flags));
  p.command('train')
    .description('train on a real workload and print held-out accuracy and log-loss (docs/spam.md); under mpirun (spam, mnist without --tfjs), each rank takes its share of every minibatch (docs/distributed.md)')
    .argument('<problem>', 'the workload: spam (SpamAssassin corpus, hashed bag of words, logistic regression) or mnist (a ReLU MLP on MNIST, docs/mnist.md; with --tfjs a TensorFlow.js model, docs/tfjs.md)', names(['spam', 'mnist'] as const))
    .addOption(new Option('--algorithm <name>', 'optimizer (momentum: mnist only; with --tfjs: vsgdfd, adam or momentum, the last two tfjs\'s own)').choices(MNIST_ALGOS).default('vsgdfd'))
    .addOption(new Option('--sparsity <rule>', "vSGD-fd's rates (spam: instance and global take sparse rows, none dense ones; default instance; mnist: the optimizer's default)").choices(['instance', 'global', 'none']))
    .option('-n, --minibatch <k>', 'samples per update (default: spam 1, mnist 32, mnist --tfjs 128)', integer(1))
    .option('--epochs <k>', 'passes over the training set', integer(1), 5)
    .option('--bits <k>', 'hashed features: 2^bits, plus a bias (default 18; 14 with --study)', integer(4))
    .addOption(new Option('--counts <kind>', 'feature values before L2 normalization').choices(['binary', 'log']).default('binary'))
    .option('--lr <x>', 'η₀ of SGD, AdaGrad or Adam (default: theirs)', (v: string) => {
      const x = Number(v);
      if (!(x > 0 && Number.isFinite(x))) throw new InvalidArgumentError('expected a positive number');
      return x;
    })
    .option('--bootstrap <k>', "vSGD-fd's bootstrap (default 10)", integer(1))
    .addOption(new Option('--variant <name>', "vSGD-fd's method: signed (the default) or paper (as published; docs/algorithm.md)").choices(['signed', 'paper']))
    .addOption(new Option('--probe <kind>', "vSGD-fd's shifted values: joint (the probe point, as the paper) or diagonal (each entry's own coordinate shifted alone; an experiment)").choices(['joint', 'diagonal']).default('joint'))
    .option('--hidden <list>', 'mnist: hidden layer sizes', numbers((x) => Number.isInteger(x) && x >= 1, 'positive integers'), [256, 128])
    .option('--momentum <mu>', 'mnist: μ of momentum SGD (default 0.9)', (v: string) => {
      const x = Number(v);
      if (!(x >= 0 && x < 1)) throw new InvalidArgumentError('expected a number in [0, 1)');
      return x;
    })
    .option('--train-size <k>', 'mnist: training digits used, from the start of the set (default all 60,000)', integer(1))
    .option('--seed <k>', 'seed of the sample order (spam: the 80/20 split is fixed; mnist: the initial weights are fixed)', seedArg, 1)
    .option('--json', 'print one JSON object')
    .option('--study', 'instead: vSGD-fd against the baselines over their rate grids, and samples to target as n grows; writes figures')
    .option('-o, --out <dir>', 'folder for the study\'s figures and numbers (spam-study.json, mnist-study.json: an interrupted mnist study resumes from it; tfjs-mnist.json with --tfjs; default report/spam, report/mnist, report/tfjs-mnist)')
    .option('--tfjs', 'mnist: a TensorFlow.js model trained by vsgd-fd/tfjs or by tfjs\'s own optimizers (docs/tfjs.md)')
    .addOption(new Option('--backend <name>', 'mnist --tfjs: the tfjs backend (default wasm; cpu for the CNN, whose gradients wasm lacks)').choices(['wasm', 'cpu']).default('wasm'))
    .addOption(new Option('--model <kind>', 'mnist --tfjs: 784-256-128-10 ReLU MLP or a small CNN').choices(['mlp', 'cnn']).default('mlp'))
    .option('--test-size <k>', 'mnist --tfjs: the first k test digits only', integer(1))
    .option('--microbatches <k>', 'mnist --tfjs, vsgdfd: gradient rows per step, slices of each batch (default 1: the batch mean)', integer(1))
    .addOption(new Option('--no-progress', 'no progress output'))
    .action(async (problem: string[], flags: TrainFlags & MnistFlags, cmd: Command) => {
      if (problem[0] === 'mnist') return flags.tfjs ? trainTfjs(flags, cmd) : trainMnist(flags);
      return trainSpam(flags);
    });
  return p;
}

if (require.main === module) {
  program().parseAsync(process.argv).catch((err: unknown) => {
    console.error(`vsgd-fd: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
