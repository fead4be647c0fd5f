// MNIST through TensorFlow.js on a slice: the wasm backend (copies θ in and out) takes the steps
// the cpu backend (aliases θ) takes, `train mnist --tfjs` prints its JSON, the study keeps
// finished runs and picks up from them, and bad combinations are refused.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import test from 'ava';
import { loadMnist } from '../lib/data/mnist.ts';
import { backends } from '../lib/index.ts';
import { buildModel, useBackend } from '../lib/experiments/tfjs-mnist.ts';
import { studyPng, TFJS_STUDY, tfjsStudy } from '../lib/experiments/tfjs-study.ts';
import { VSGDfdOptimizer } from '../lib/tfjs/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'lib/cli.ts'), 'train', 'mnist', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });

test.serial('wasm backend: θ copied in and out each step, the same steps as the cpu backend\'s aliasing', async (t) => {
  const m = loadMnist({ train: 192, test: 10 });
  const run = async (backend: 'cpu' | 'wasm') => {
    await useBackend(backend);
    const model = buildModel('mlp', 3);
    // variant 'paper': the default's probe signs are hashed from the bits of g and v, so the two
    // backends' last-bit differences in the gradients would send the runs apart
    const opt = new VSGDfdOptimizer({ variant: 'paper' });
    model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
    const xs = tf.tensor2d(m.train.images, [192, 784]);
    const ys = tf.oneHot(tf.tensor1d(m.train.labels, 'int32'), 10).toFloat();
    await model.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
    t.is(opt.lastStep?.mode, backend === 'cpu' ? 'alias' : 'copy');
    t.true(opt.lastStep?.curvature);
    const theta = Float32Array.from((opt.params as { theta: Float32Array }).theta);
    // the model computes with θ: its weights read back are θ's values
    const w = Float32Array.from(model.getWeights().flatMap((x) => Array.from(x.dataSync())));
    t.deepEqual(w, theta, `${backend}: the weights are θ`);
    tf.dispose([xs, ys]);
    model.dispose();
    opt.dispose();
    return theta;
  };
  const [cpu, wasm] = [await run('cpu'), await run('wasm')];
  let worst = 0;
  cpu.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - wasm[i]))));
  t.true(worst < 1e-4, `largest difference ${worst}`);
  t.notDeepEqual(Array.from(cpu.slice(-10)), Array.from(buildModel('mlp', 3).getWeights()[5].dataSync()), 'trained');
});

test.serial('train mnist --tfjs --json on a slice', (t) => {
  const r = cli('--tfjs', '--train-size', '256', '--test-size', '100', '-n', '32', '--epochs', '2', '--json', '--no-progress');
  t.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.like(j, { problem: 'mnist', tfjs: true, algorithm: 'vsgdfd', backend: 'wasm', model: 'mlp', batchSize: 32, epochs: 2, train: 256, test: 100, d: 235146 });
  for (const k of ['accuracy', 'logLoss', 'seconds']) t.true(Number.isFinite(j[k]) && j[k] >= 0, k);
  t.true(j.accuracy <= 1);
  t.is(j.perEpoch.length, 2);
  t.is(j.layers.length, 2);
  t.is(j.perEpoch[1].accuracy, j.accuracy);
  t.is(r.stderr, '');
});

test.serial('--model cnn: the small CNN trains too', (t) => {
  const r = cli('--tfjs', '--model', 'cnn', '--train-size', '16', '--test-size', '10', '-n', '8', '--epochs', '1', '--json', '--no-progress'); // tfjs's cpu convolutions are slow
  t.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.like(j, { model: 'cnn', backend: 'cpu', d: 5994, epochs: 1 }); // 5·5·8 + 8, 5·5·8·16 + 16, 256·10 + 10
  t.is(j.layers[0].length, 6);
  t.regex(cli('--tfjs', '--model', 'cnn', '--backend', 'wasm', '--no-progress').stderr, /the CNN needs the cpu backend/);
});

test.serial('bad combinations are refused with a message', (t) => {
  const b = cli('--tfjs', '--algorithm', 'adagrad', '--no-progress');
  t.regex(b.stderr, /adagrad is not one of vsgdfd, adam, momentum/);
  const c = cli('--tfjs', '--algorithm', 'adam', '--microbatches', '4', '--no-progress');
  t.regex(c.stderr, /--microbatches is an option of vsgdfd/);
  t.regex(cli('--tfjs', '--algorithm', 'momentum', '--variant', 'paper', '--no-progress').stderr, /--variant is an option of vsgdfd/);
  const d = cli('--tfjs', '--backend', 'webgl');
  t.regex(d.stderr, /Allowed choices are wasm, cpu/);
  // without tfjs installed the command says what to add
  const block = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'no-tfjs-')), 'block.cjs');
  t.teardown(() => fs.rmSync(path.dirname(block), { recursive: true, force: true }));
  fs.writeFileSync(block, "const M = require('module'); const r = M._resolveFilename; M._resolveFilename = function (q, ...a) { " +
    "if (q.startsWith('@tensorflow/')) { const e = new Error(`Cannot find module '${q}'`); e.code = 'MODULE_NOT_FOUND'; throw e; } return r.call(this, q, ...a); };");
  const e = spawnSync(process.execPath, ['-r', block, '--import', 'tsx', path.join(ROOT, 'lib/cli.ts'), 'train', 'mnist', '--tfjs', '--no-progress'], { cwd: ROOT, encoding: 'utf8' });
  t.not(e.status, 0);
  t.regex(e.stderr, /train mnist --tfjs needs the package @tensorflow\/tfjs.*npm install @tensorflow\/tfjs/);
});

test.serial('the study keeps each finished run and does not repeat it', async (t) => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-study-'));
  t.teardown(() => fs.rmSync(cache, { recursive: true, force: true }));
  const o = { ...TFJS_STUDY, epochs: 1, batchSize: 64, train: 256, test: 50, adam: [1e-3], momentum: [0.03], microbatches: [2] };
  const first = await tfjsStudy(o, cache);
  t.deepEqual(first.runs.map((r) => [r.options.algorithm, r.options.lr, r.options.microbatches]), [['vsgdfd', null, undefined], ['vsgdfd', null, 2], ['adam', 0.001, undefined], ['momentum', 0.03, undefined]]);
  const files = fs.readdirSync(cache);
  t.is(files.length, 4);
  // a finished run is read back, not trained again
  const file = path.join(cache, files.find((f) => f.startsWith('adam')) as string);
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), accuracy: 0.123 }));
  const stages: string[] = [];
  const again = await tfjsStudy(o, cache, (_d, _t, stage) => stages.push(stage));
  t.is(again.runs[2].accuracy, 0.123);
  t.true(stages.some((s) => s.endsWith('done before')));
  t.deepEqual(studyPng(again).subarray(1, 4).toString(), 'PNG');
});

test.serial('bench:tfjs runs and writes its medians (speed is claimed in docs/tfjs.md from a full run, not here)', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-bench-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'step.json');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/tfjs-step.ts', '--reps', '1', '--steps', '1', '--warm', '1', '--backends', 'wasm', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  t.is(r.status, 0, r.stderr);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  t.is(j.results[0].backend, 'wasm');
  const rows = j.results[0].rows as { name: string; evaluate: number; probeEvaluate: number; optimizer: number }[];
  t.deepEqual(rows.map((x) => x.name), ['tfjs Adam', 'vSGD-fd', 'vSGD-fd, 1 thread', 'vsgd-fd Adam, 1 thread', 'vSGD-fd, 8 microbatches']);
  for (const x of rows) t.true(x.evaluate > 0 && x.optimizer > 0, x.name);
  t.true(rows[1].probeEvaluate > 0 && rows[0].probeEvaluate === 0);
  t.regex(r.stdout, /\| tfjs Adam \|/);
  // the batch's blank pixels (the first 128 training digits) and vSGD-fd's bootstrapping share
  // (groups of the kernels' lanes: 16 with the AVX-512 build, else 8)
  const z = j.results[0].blank as { pixels: number; boot: number; d: number; groups: number; bootGroups: number; lanes: number };
  t.is(z.pixels, 268);
  t.is(z.lanes, backends().cpu.isa === 'avx512' ? 16 : 8);
  t.true(z.d === 235_146 && z.boot > 0 && z.boot <= z.d && z.bootGroups <= z.groups && z.groups === Math.ceil(z.d / z.lanes));
});
