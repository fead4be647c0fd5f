// The MNIST workload: training runs of every optimizer on a slice, the dense and sparse row paths
// of vSGD-fd agreeing, the study resuming from its file, and `vsgd-fd train mnist --json`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { loadMnist } from '../lib/data/mnist.ts';
import { MNIST_ALGOS, type MnistResult, train } from '../lib/experiments/mnist.ts';
import { bestOf, type MnistStudyOptions, readStudy, runStudy, studyRuns, studyTables, writeStudyOutputs } from '../lib/experiments/mnist-study.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const data = loadMnist({ train: 600, test: 500 });
const small = { hidden: [16], minibatch: 10, epochs: 1, seed: 3, trainSize: 600 };

test('every optimizer learns on a slice: well above chance after one epoch', async (t) => {
  const lrs: Record<string, number> = { sgd: 0.1, momentum: 0.01, adagrad: 0.03, adam: 0.003 };
  for (const algorithm of MNIST_ALGOS) {
    const r = await train(data, { ...small, algorithm, lr: lrs[algorithm], diagnose: true });
    t.true(r.accuracy > 0.6, `${algorithm}: ${r.accuracy}`);
    t.is(r.samples, 600);
    t.is(r.curve.length, 4);
    if (algorithm === 'vsgdfd') t.deepEqual(r.diagnostics?.map((x) => x.name), ['W1', 'b1', 'W2', 'b2']);
  }
});

test("vSGD-fd: sparse rows ('instance') and dense rows with the same rates give the same bits", async (t) => {
  // sparse rates take the CSR rows of the non-zero entries; denseRows passes the n × d rows instead
  const a = await train(data, { ...small, algorithm: 'vsgdfd', vsgd: { variant: 'signed', sparsity: 'instance' } });
  const b = await train(data, { ...small, algorithm: 'vsgdfd', vsgd: { variant: 'signed', sparsity: 'instance' }, denseRows: true });
  t.deepEqual(b.curve, a.curve);
  t.is(b.logLoss, a.logLoss);
});

test('the study runs its grid once: a second call finds every run in its file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsgd-mnist-'));
  const file = path.join(dir, 'mnist-study.json');
  const o: MnistStudyOptions = {
    hidden: [8], minibatch: 20, epochs: 1, seed: 1, trainSize: 300,
    grids: { sgd: [0.1], momentum: [0.01], adagrad: [0.03], adam: [0.001, 0.003] },
    vsgd: { "variant 'paper'": { vsgd: { variant: 'paper' } } }, checkMinibatch: 10,
  };
  const runs = studyRuns(o);
  t.is(runs.length, 5 + 2 + 2);
  t.is(new Set(runs.map((r) => r.key)).size, runs.length);
  let calls = 0;
  const first = await runStudy(data, o, file, () => calls++);
  t.is(Object.keys(first.runs).length, runs.length);
  t.deepEqual(readStudy(file, o).runs, JSON.parse(JSON.stringify(first.runs)));
  const second = await runStudy(data, o, file);
  t.deepEqual(second.runs, readStudy(file, o).runs, 'nothing was run again');
  // a study with a smaller grid keeps the runs it shares
  const fewer = readStudy(file, { ...o, grids: { ...o.grids, adam: [0.003] } });
  t.is(Object.keys(fewer.runs).length, runs.length - 1);
  writeStudyOutputs(second, dir);
  t.true(fs.statSync(path.join(dir, 'mnist-study.png')).size > 10_000);
  const md = studyTables(second);
  t.regex(md, /\| vSGD-fd \(defaults\) \| – \| \d+\.\d\d \|/);
  t.regex(md, /\| W1 \| 6272 \|/);
  // the checkpoint count: the defaults' run made perfect, then useless, against the baselines' best runs
  const key = runs.find((r) => r.options.algorithm === 'vsgdfd' && !r.options.vsgd && r.options.minibatch === o.minibatch)?.key as string;
  const withAccuracy = (a: number) => ({ ...second, runs: { ...second.runs, [key]: { ...second.runs[key], curve: second.runs[key].curve.map((c) => [c[0], c[1], a] as [number, number, number]) } } });
  const k = second.runs[key].curve.length;
  t.regex(studyTables(withAccuracy(1)), new RegExp(`best run at ${k} of its ${k} checkpoints`));
  t.regex(studyTables(withAccuracy(0)), new RegExp(`best run at 0 of its ${k} checkpoints`));
  // above all best runs at the first checkpoint, above only the weakest at the second: counted once
  const best = (['sgd', 'momentum', 'adagrad', 'adam'] as const).map((a) => bestOf(second, a)?.run as MnistResult);
  const at = (j: number, f: (...x: number[]) => number) => f(...best.map((r) => r.curve[j][2])) + 1e-6;
  t.true(at(1, Math.min) < at(1, Math.max), 'the best runs differ at the second checkpoint');
  const between = { ...second, runs: { ...second.runs, [key]: { ...second.runs[key], curve: second.runs[key].curve.map((c, j) => [c[0], c[1], j === 0 ? at(0, Math.max) : j === 1 ? at(1, Math.min) : 0] as [number, number, number]) } } };
  t.regex(studyTables(between), /best run at 1 of its \d+ checkpoints/);
  fs.rmSync(dir, { recursive: true });
});

test('`vsgd-fd train mnist --json` prints one JSON object; bad options are refused', (t) => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'lib/cli.ts'), 'train', 'mnist', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  const r = cli('--json', '--epochs', '1', '--train-size', '200', '--hidden', '12', '-n', '20', '--no-progress');
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '');
  const j = JSON.parse(r.stdout);
  t.like(j, { problem: 'mnist', algorithm: 'vsgdfd', sizes: [784, 12, 10], minibatch: 20, epochs: 1, samples: 200 });
  for (const k of ['accuracy', 'logLoss', 'seconds', 'loadSeconds']) t.is(typeof j[k], 'number', k);
  t.is(j.diagnostics.length, 4);
  const bad = cli('--hidden', '12,x');
  t.not(bad.status, 0);
  t.regex(bad.stderr, /--hidden.*positive integers/);
});
