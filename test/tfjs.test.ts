// vsgd-fd/tfjs: the adapters train tf.LayersModels through fit() and minimize(), the probe
// evaluation sees the same batch (same dropout masks, batch norm written once), the variables are
// θ's memory on the cpu backend, state round-trips through getWeights/setWeights and model saving.
// Serial: tfjs keeps one global engine.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import test from 'ava';
import { VSGDfd } from '../lib/index.ts';
import {
  AdaGradOptimizer, AdamOptimizer, NaturalGradientOptimizer, SGDOptimizer, VSGDfdOptimizer,
} from '../lib/tfjs/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
tf.enableProdMode();
test.before(async () => {
  await tf.setBackend('cpu');
});

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

function mlp(seed = 1, extra: tf.layers.Layer[] = []): tf.Sequential {
  return tf.sequential({
    layers: [
      ...extra,
      tf.layers.dense({ units: 8, inputShape: extra.length ? undefined : [4], activation: 'tanh', kernelInitializer: init(seed) }),
      tf.layers.dense({ units: 1, kernelInitializer: init(seed + 1) }),
    ],
  });
}

// y = x·w + 0.1 + noise, seeded
function data(n = 256, seed = 3): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  return tf.tidy(() => {
    const xs = tf.randomNormal([n, 4], 0, 1, 'float32', seed) as tf.Tensor2D;
    const ys = tf.add(tf.matMul(xs, tf.tensor2d([[1], [-2], [0.5], [3]])), tf.randomNormal([n, 1], 0.1, 0.1, 'float32', seed + 1)) as tf.Tensor2D;
    return { xs, ys };
  });
}

const ADAPTERS = [
  ['VSGDfdOptimizer', () => new VSGDfdOptimizer()],
  ['SGDOptimizer', () => new SGDOptimizer({ lr: 0.02 })],
  ['AdaGradOptimizer', () => new AdaGradOptimizer({ lr: 0.3 })],
  ['NaturalGradientOptimizer', () => new NaturalGradientOptimizer({ lr: 0.01 })],
  ['AdamOptimizer', () => new AdamOptimizer({ lr: 0.03 })],
] as const;

for (const [name, make] of ADAPTERS) {
  test.serial(`${name} trains a model through fit(); no tensor is left behind per step`, async (t) => {
    const { xs, ys } = data();
    const model = mlp();
    const opt = make();
    model.compile({ optimizer: opt, loss: 'meanSquaredError', metrics: ['mae'] }); // fit() keeps the metric tensors
    const first = (await model.fit(xs, ys, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 })).history.loss[0] as number;
    const count = tf.memory().numTensors;
    const h = await model.fit(xs, ys, { epochs: 15, batchSize: 32, shuffle: false, verbose: 0 });
    const last = h.history.loss.at(-1) as number;
    t.is(tf.memory().numTensors, count, 'tensors after 15 more epochs');
    t.true(last < 0.2 * first, `loss ${first} -> ${last}`);
    t.is(opt.lastStep?.mode, 'alias');
    t.is(opt.iterations, 128);
    model.dispose();
    opt.dispose();
    tf.dispose([xs, ys]);
  });
}

test.serial('fitDataset() trains too', async (t) => {
  const { xs, ys } = data();
  const ds = tf.data.zip({ xs: tf.data.array(tf.unstack(xs)), ys: tf.data.array(tf.unstack(ys)) }).batch(32);
  const model = mlp();
  const opt = new VSGDfdOptimizer();
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  const h = await model.fitDataset(ds, { epochs: 12, verbose: 0 });
  t.true((h.history.loss.at(-1) as number) < 0.2 * (h.history.loss[0] as number), String(h.history.loss));
  t.is(opt.iterations, 96);
});

test.serial('minimize(f) in a custom loop: a noisy quadratic, curvature every step', (t) => {
  const w = tf.variable(tf.tensor1d([3, -2, 1, 0.5]));
  const target = tf.tensor1d([1, 1, 1, 1]);
  const opt = new VSGDfdOptimizer();
  for (let k = 0; k < 300; k++) {
    const noise = tf.randomNormal([4], 0, 0.3, 'float32', k);
    const cost = opt.minimize(() => tf.sum(tf.square(tf.sub(tf.add(w, noise), target))) as tf.Scalar, true);
    if (k === 0) t.true(opt.lastStep?.curvature);
    tf.dispose([noise, cost as tf.Scalar]);
  }
  const err = Math.max(...Array.from(tf.abs(tf.sub(w, target)).dataSync()));
  t.true(err < 0.3, `max |w - 1| = ${err}`);
  t.is(opt.lastStep?.rows, 1);
  t.true(opt.lastStep?.curvature);
});

// The same steps driven by hand: the native VSGDfd, with gradients of each batch from tf at θ and
// at the probe point it asks for. fit() through the adapter must give the same bits.
test.serial('fit() takes exactly the steps of the native optimizer driven by hand on the same batches', async (t) => {
  const { xs, ys } = data(96);
  const model = mlp(5);
  const opt = new VSGDfdOptimizer();
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  const twin = mlp(5);
  const vars = twin.trainableWeights.map((w) => w.read() as tf.Variable);
  const theta = new Float32Array(vars.reduce((s, v) => s + v.size, 0));
  let off = 0;
  for (const v of vars) (theta.set(v.dataSync() as Float32Array, off), (off += v.size));
  const native = new VSGDfd(theta);
  const set = (at: Float32Array) => {
    let o = 0;
    for (const v of vars) (v.assign(tf.tensor(at.slice(o, o + v.size), v.shape)), (o += v.size));
  };
  await model.fit(xs, ys, { epochs: 3, batchSize: 16, shuffle: false, verbose: 0 });
  for (let e = 0; e < 3; e++) {
    for (let b = 0; b < 96; b += 16) {
      const [x, y] = [xs.slice(b, 16), ys.slice(b, 16)];
      native.step((at, out) => {
        set(at);
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.mean(tf.square(tf.sub(twin.apply(x, { training: true }) as tf.Tensor, y)), -1)) as tf.Scalar, vars);
        let o = 0;
        for (const v of vars) (out.set(grads[v.name].dataSync() as Float32Array, o), (o += v.size));
        tf.dispose([value, grads]);
      });
      tf.dispose([x, y]);
    }
  }
  t.deepEqual(opt.params?.theta, theta);
  t.is(opt.native?.steps, native.steps);
  t.deepEqual(opt.native?.state.eta, native.state.eta);
});

test.serial('on the cpu backend the variables are the optimizer\'s θ: the same memory, every step', async (t) => {
  const { xs, ys } = data(64);
  const model = mlp();
  const opt = new VSGDfdOptimizer();
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  await model.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 });
  const p = opt.params;
  if (!p) return t.fail('no params after a step');
  const ids = p.slots.map((s) => s.variable.dataId);
  await model.fit(xs, ys, { epochs: 2, batchSize: 16, verbose: 0 });
  t.true(opt.lastStep?.curvature);
  p.slots.forEach((s, i) => {
    const v = s.variable.dataSync() as Float32Array;
    t.is(v.buffer, p.theta.buffer, s.name);
    t.is(v.byteOffset, p.theta.byteOffset + 4 * s.offset, s.name);
    t.is(s.variable.dataId, ids[i], `${s.name} kept its storage`);
  });
  // a write to θ is a write to the model
  const k = p.slots[2].variable; // the second kernel
  const before = (model.predict(xs.slice(0, 1)) as tf.Tensor).dataSync()[0];
  p.theta.fill(0, p.slots[2].offset, p.slots[2].offset + p.slots[2].size);
  t.deepEqual(Array.from(k.dataSync()), new Array(k.size).fill(0));
  const after = (model.predict(xs.slice(0, 1)) as tf.Tensor).dataSync()[0];
  t.not(after, before);
  t.is(after, p.theta[p.slots[3].offset], 'output = the second bias alone');
});

test.serial('copy mode (other backends) takes the same steps as aliasing', async (t) => {
  const run = async (copy: boolean) => {
    const { xs, ys } = data(64);
    const model = mlp(7);
    const opt = new VSGDfdOptimizer();
    if (copy) opt.setMode('copy');
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 3, batchSize: 16, shuffle: false, verbose: 0 });
    t.is(opt.lastStep?.mode, copy ? 'copy' : 'alias');
    return Array.from((opt.params as { theta: Float32Array }).theta);
  };
  t.deepEqual(await run(true), await run(false));
});

test.serial('a tensor sharing a variable\'s memory keeps its values; a variable written from outside is gathered again', async (t) => {
  const { xs, ys } = data(64);
  const model = mlp();
  const opt = new VSGDfdOptimizer();
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  await model.fit(xs, ys, { epochs: 3, batchSize: 16, verbose: 0 }); // past the bootstrap
  const v = (opt.params as NonNullable<typeof opt.params>).slots[0].variable;
  const clone = tf.clone(v);
  const kept = Array.from(clone.dataSync());
  await model.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 });
  t.deepEqual(Array.from(clone.dataSync()), kept, 'the clone did not move with the variable');
  t.notDeepEqual(Array.from(v.dataSync()), kept, 'the variable did');
  // setWeights replaces the variables' data: the next step starts from the new values
  const p = opt.params as NonNullable<typeof opt.params>;
  model.setWeights(model.getWeights().map((w) => tf.zerosLike(w)));
  t.deepEqual(Array.from(p.theta.subarray(0, 4)), [0, 0, 0, 0].map((x, i) => p.theta[i] + x), 'θ untouched until the next step');
  await model.fit(xs.slice(0, 16), ys.slice(0, 16), { epochs: 1, batchSize: 16, verbose: 0 });
  const w = p.slots[0].variable.dataSync() as Float32Array;
  t.is(w.buffer, p.theta.buffer, 'aliased again');
  t.true(Math.max(...Array.from(p.theta).map(Math.abs)) < 0.5, 'one step from zero');
});

test.serial('variables added, removed or frozen after the first step are refused with an error that names them', async (t) => {
  const { xs, ys } = data(32);
  const model = mlp();
  const opt = new VSGDfdOptimizer();
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  await model.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 });
  model.layers[0].trainable = false;
  await t.throwsAsync(model.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 }), { message: /frozen \(trainable = false\): .*kernel.*bias.*make a new optimizer/ });
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  await t.throwsAsync(model.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 }), { message: /removed: .*kernel/ });
  // a custom loop over all trainable variables: a new one is refused
  const a = tf.variable(tf.scalar(1));
  const own = new VSGDfdOptimizer();
  own.minimize(() => tf.square(a) as tf.Scalar, false, [a]);
  const b = tf.variable(tf.scalar(2));
  t.throws(() => own.minimize(() => tf.add(tf.square(a), tf.square(b)) as tf.Scalar, false, [a, b]), { message: /added: / });
});

test.serial('options are checked when the optimizer is made; applyGradients() refuses a step that needs curvature', (t) => {
  t.throws(() => new VSGDfdOptimizer({ bootstrap: 0 }), { instanceOf: RangeError, message: /options\.bootstrap/ });
  t.throws(() => new VSGDfdOptimizer({ bootstap: 3 } as never), { message: /did you mean "bootstrap"/ });
  t.throws(() => new VSGDfdOptimizer({ microbatches: 0 }), { instanceOf: RangeError, message: /options\.microbatches/ });
  t.throws(() => new VSGDfdOptimizer({ minibatch: 4 } as never), { message: /microbatches/ });
  const a = tf.variable(tf.scalar(1));
  const opt = new VSGDfdOptimizer();
  t.throws(() => opt.applyGradients({ [a.name]: tf.scalar(1) }), { message: /curvature is due.*use minimize/ });
  const sgd = new SGDOptimizer({ lr: 0.5 });
  sgd.applyGradients({ [a.name]: tf.scalar(1) });
  t.is(a.dataSync()[0], 0.5);
  opt.dispose();
  t.throws(() => opt.minimize(() => tf.square(a) as tf.Scalar), { message: /disposed/ });
});

// A loss linear in θ has the same gradient everywhere: with dropout the two evaluations of a step
// agree only if they draw the same masks, and then every curvature sample is 0.
test.serial('dropout: the probe evaluation draws the same masks as the first', async (t) => {
  const model = tf.sequential({ layers: [
    tf.layers.dropout({ rate: 0.5, inputShape: [4] }),
    tf.layers.dense({ units: 3, kernelInitializer: init(2) }),
  ] });
  const opt = new VSGDfdOptimizer();
  model.compile({ optimizer: opt, loss: (_y: tf.Tensor, p: tf.Tensor) => tf.mean(p, -1) });
  const { xs } = data(64);
  await model.fit(xs, tf.zeros([64, 3]), { epochs: 4, batchSize: 16, verbose: 0 });
  const h = opt.native?.state.h as Float32Array;
  t.true(h.every((x) => x < 1e-4), `curvature estimates ${Array.from(h.slice(0, 5))}`);
  // a forward pass whose draws differ between the two evaluations is refused
  let calls = 0;
  const model2 = mlp();
  model2.compile({ optimizer: new VSGDfdOptimizer(), loss: (y: tf.Tensor, p: tf.Tensor) => {
    for (let k = 0; k <= calls; k++) Math.random();
    calls++;
    return tf.mean(tf.square(tf.sub(p, y)), -1);
  } });
  const ys = tf.zeros([64, 1]);
  await t.throwsAsync(model2.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 }), { message: /drew more random numbers than the first evaluation/ });
  t.deepEqual(Array.from(model2.getWeights()[1].dataSync()), new Array(8).fill(0), 'nothing was updated');
});

// Batch normalization first: its moving statistics depend on the inputs alone, so they must be the
// same as under any other optimizer, one update per step, not two.
test.serial('batch normalization: the moving statistics are written once per step', async (t) => {
  const { xs, ys } = data(64);
  const run = async (opt: tf.Optimizer) => {
    const model = mlp(1, [tf.layers.batchNormalization({ inputShape: [4] })]);
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
    const bn = model.layers[0].getWeights();
    return [Array.from(bn[2].dataSync()), Array.from(bn[3].dataSync())];
  };
  const opt = new VSGDfdOptimizer();
  t.deepEqual(await run(opt), await run(tf.train.sgd(0.01)));
  t.true(opt.lastStep?.curvature);
});

test.serial('microbatches: each batch\'s slices are the rows; their mean is the batch gradient', async (t) => {
  const { xs, ys } = data(64);
  const run = async (k: number) => {
    const model = mlp(9);
    const opt = new SGDOptimizer({ lr: 0.05, microbatches: k });
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    if (k > 1) opt.attach(model);
    const h = await model.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
    t.is(opt.lastStep?.rows, k);
    return { theta: Array.from((opt.params as { theta: Float32Array }).theta), loss: h.history.loss as number[] };
  };
  const one = await run(1), four = await run(4);
  four.theta.forEach((x, i) => t.true(Math.abs(x - one.theta[i]) < 1e-5, `θ[${i}]: ${x} vs ${one.theta[i]}`));
  four.loss.forEach((x, i) => t.true(Math.abs(x - one.loss[i]) < 1e-5, `loss ${x} vs ${one.loss[i]}`));
  // vSGD-fd with 4 rows, a last batch of 2 samples (2 rows); without attach() fit() is refused
  const model = mlp();
  const opt = new VSGDfdOptimizer({ microbatches: 4 });
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  await t.throwsAsync(model.fit(xs, ys, { epochs: 1, batchSize: 16, verbose: 0 }), { message: /microbatches = 4 needs the loss of each slice.*attach\(model\)/ });
  opt.attach(model);
  await model.fit(xs.slice(0, 34), ys.slice(0, 34), { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
  t.is(opt.lastStep?.rows, 2);
  t.true(opt.lastStep?.curvature);
  // a custom loop passes (slice, slices) => the loss of that slice
  const w = tf.variable(tf.tensor1d([2, 2]));
  const own = new VSGDfdOptimizer({ microbatches: 3 });
  own.minimize((j: number, k: number) => tf.sum(tf.square(tf.sub(w, j / k))) as tf.Scalar);
  t.is(own.lastStep?.rows, 3);
});

test.serial('getWeights()/setWeights() carry the whole state: a resumed run continues bit for bit', async (t) => {
  const { xs, ys } = data(64);
  const model = mlp(11);
  const opt = new VSGDfdOptimizer();
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  await model.fit(xs, ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
  const weights = model.getWeights().map((w) => w.clone());
  const state = await opt.getWeights();
  t.deepEqual(state.map((w) => w.name), ['iter', 'vsgd-fd/state', 'vsgd-fd/shapes']);
  await model.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
  const resumed = mlp(12);
  resumed.setWeights(weights);
  const opt2 = new VSGDfdOptimizer();
  await opt2.setWeights(state);
  resumed.compile({ optimizer: opt2, loss: 'meanSquaredError' });
  await resumed.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
  t.deepEqual(opt2.params?.theta, opt.params?.theta);
  t.is(opt2.iterations, opt.iterations);
  // and into an optimizer that has stepped: replaced, same bits again
  await opt2.setWeights(await opt.getWeights());
  resumed.setWeights(model.getWeights().map((w) => w.clone()));
  await Promise.all([model, resumed].map((m) => m.fit(xs, ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 })));
  t.deepEqual(opt2.params?.theta, opt.params?.theta);
  // state for other shapes is refused
  const other = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [4] })] });
  const opt3 = new VSGDfdOptimizer();
  await opt3.setWeights(await opt.getWeights());
  other.compile({ optimizer: opt3, loss: 'meanSquaredError' });
  await t.throwsAsync(other.fit(xs, tf.zeros([64, 2]), { epochs: 1, verbose: 0 }), { message: /saved state is for variables of shapes \[\[4,8\],\[8\],\[8,1\],\[1\]\]/ });
  await t.throwsAsync(opt3.setWeights([state[0], { name: 'm', tensor: tf.scalar(1) }]), { message: /expected the weights 'vsgd-fd\/state'/ });
});

test.serial('a model saved with its optimizer loads with it (in-memory IO handler) and continues the same', async (t) => {
  const { xs, ys } = data(64);
  const model = mlp(13);
  model.compile({ optimizer: new VSGDfdOptimizer({ outlierSigmas: 3 }), loss: 'meanSquaredError' });
  await model.fit(xs, ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }), { includeOptimizer: true });
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved as tf.io.ModelArtifacts));
  const opt = loaded.optimizer as VSGDfdOptimizer;
  t.true(opt instanceof VSGDfdOptimizer);
  t.false(tf.train.adam() instanceof VSGDfdOptimizer, 'instanceof is not duck typing here');
  t.false(opt instanceof AdamOptimizer);
  t.true(opt instanceof tf.Optimizer);
  t.deepEqual(opt.getConfig(), { outlierSigmas: 3 });
  await Promise.all([model, loaded].map((m) => m.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 })));
  t.deepEqual(opt.params?.theta, (model.optimizer as VSGDfdOptimizer).params?.theta);
  t.is(opt.iterations, 12);
});

// The subpath is its own entry: the main one never loads tfjs, and without tfjs-core the subpath
// says what to install. ESM and CJS give the same classes. (Run on dist/, which `npm test` builds.)
test.serial('vsgd-fd works without tfjs installed; vsgd-fd/tfjs says what it needs; ESM and CJS agree', (t) => {
  const block = "const M = require('module'); const r = M._resolveFilename; M._resolveFilename = function (q, ...a) { " +
    "if (q.startsWith('@tensorflow/')) { const e = new Error(`Cannot find module '${q}'`); e.code = 'MODULE_NOT_FOUND'; throw e; } return r.call(this, q, ...a); };";
  const node = (code: string, ...flags: string[]) => spawnSync(process.execPath, [...flags, '-e', code], { cwd: ROOT, encoding: 'utf8' });
  const main = node(`${block} const v = require('vsgd-fd'); console.log(typeof v.VSGDfd, Object.keys(require.cache).some((k) => k.includes('@tensorflow')));`);
  t.is(main.stdout.trim(), 'function false', main.stderr);
  const sub = node(`${block} require('vsgd-fd/tfjs');`);
  t.not(sub.status, 0);
  t.regex(sub.stderr, /vsgd-fd\/tfjs needs the package '@tensorflow\/tfjs-core'.*npm install @tensorflow\/tfjs/);
  const both = node("import('vsgd-fd/tfjs').then((m) => { const c = require('vsgd-fd/tfjs'); console.log(m.VSGDfdOptimizer === c.VSGDfdOptimizer, m.default.AdamOptimizer === c.AdamOptimizer); });");
  t.is(both.stdout.trim(), 'true true', both.stderr);
});

test.serial('the README\'s TensorFlow.js example runs as written', (t) => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const code = /## TensorFlow\.js[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!code) return t.fail('README has a TensorFlow.js section with a ts block');
  // as a user's ES module would run it, in the package (dist/, which `npm test` builds); it is plain JavaScript
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const loss = Number(r.stdout.trim().split('\n').at(-1));
  t.true(loss >= 0 && loss < 0.5, r.stdout);
});
