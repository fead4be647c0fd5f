// The public API: zero copy, step() against update(), probe, bootstrap, outliers, sparsity,
// curvatureEvery, save/load, dispose, backends, and both module systems.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { AdaGrad, Adam, backends, NaturalGradient, type Optimizer, SGD, VSGD, VSGDfd } from '../lib/index.ts';
import { gauss } from './reference.ts';
import { rng, SEED } from './helpers.ts';

const root = new URL('..', import.meta.url).pathname;

function quadratic(seed: number, d: number, n: number) {
  const r = rng(seed);
  const a = Array.from({ length: d }, () => 0.5 + r());
  const xi = new Float64Array(n * d);
  return {
    next() {
      for (let k = 0; k < xi.length; k++) xi[k] = gauss(r);
    },
    fn(at: Float32Array, out: Float32Array) {
      for (let k = 0; k < out.length; k++) out[k] = a[k % d] * (at[k % d] - xi[k]);
    },
  };
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const snapshot = (o: Optimizer) => ({ theta: bits(o.theta), state: Object.fromEntries(Object.entries(o.state).map(([k, v]) => [k, bits(v)])) });

test('theta is updated in place and state views alias the memory the addon writes', (t) => {
  const theta = new Float32Array(8).fill(1);
  const buffer = theta.buffer;
  const opt = new VSGDfd(theta, { minibatch: 2, bootstrap: 2 });
  const g = opt.state.g;
  const tau = opt.state.tau;
  t.is(g.buffer, tau.buffer, 'all state views share one buffer');
  const q = quadratic(SEED, 8, 2);
  for (let i = 0; i < 5; i++) {
    q.next();
    opt.step(q.fn);
  }
  t.is(theta.buffer, buffer);
  t.not(theta[0], 1, 'theta moved');
  t.is(opt.state.g, g, 'the same view object every time');
  t.true(g.some((x) => x !== 0) && tau.every((x) => x >= 1), 'the views show what the addon wrote');
  opt.dispose();
});

test('step(fn) and probe()+update() compute the same bits', (t) => {
  const d = 50, n = 4;
  const t1 = new Float32Array(d).fill(2), t2 = new Float32Array(d).fill(2);
  const a = new VSGDfd(t1, { minibatch: n, curvatureEvery: 2 });
  const b = new VSGDfd(t2, { minibatch: n, curvatureEvery: 2 });
  const qa = quadratic(SEED, d, n), qb = quadratic(SEED, d, n);
  const grads = new Float32Array(n * d), shifted = new Float32Array(n * d);
  for (let i = 0; i < 30; i++) {
    qa.next();
    qb.next();
    const ia = a.step(qa.fn);
    qb.fn(t2, grads);
    let ib;
    if (b.needsCurvature) {
      const at = b.probe(b.bootstrapping ? grads : undefined);
      qb.fn(at, shifted);
      ib = b.update(grads, shifted);
    } else ib = b.update(grads);
    t.deepEqual(ia, ib);
  }
  t.deepEqual(snapshot(a), snapshot(b));
});

test('bootstrap gathers the first n0 samples without moving theta, then steps', (t) => {
  const d = 6, n = 3;
  const theta = new Float32Array(d).fill(1);
  const opt = new VSGDfd(theta, { minibatch: n, bootstrap: 10 });
  const q = quadratic(SEED, d, n);
  const infos = [];
  for (let i = 0; i < 4; i++) {
    t.true(opt.bootstrapping && opt.needsCurvature);
    q.next();
    infos.push(opt.step(q.fn));
    t.deepEqual(Array.from(theta), new Array(d).fill(1), `theta still at its start after ${3 * (i + 1)} samples`);
  }
  t.deepEqual(infos.map((i) => i.bootstrapping), [d, d, d, 0]);
  t.false(opt.bootstrapping);
  t.deepEqual(Array.from(opt.state.tau), new Array(d).fill(12), 'tau = samples seen');
  q.next();
  opt.step(q.fn);
  t.true(theta.every((x) => x !== 1));
});

test('probe(): rows required while bootstrapping, optional after, and a reused view', (t) => {
  const d = 4, n = 2;
  const theta = new Float32Array(d).fill(1);
  const opt = new VSGDfd(theta, { minibatch: n, bootstrap: 2, variant: 'paper' }); // δ: the mean gradient
  const grads = new Float32Array(n * d).fill(0.5);
  t.throws(() => opt.probe(), { instanceOf: TypeError, message: /bootstrapping.*grads/ });
  const p1 = opt.probe(grads);
  t.deepEqual(Array.from(p1), new Array(d).fill(1.5), 'theta + mean of the rows');
  opt.update(grads, grads);
  t.false(opt.bootstrapping);
  const p2 = opt.probe();
  t.is(p2, p1, 'the same buffer, overwritten');
  const g = opt.state.g;
  for (let i = 0; i < d; i++) t.is(p2[i], Math.fround(1 + g[i]));
});

test('curvatureEvery: shifted rows only every k-th step; h and vh keep their values between', (t) => {
  const d = 5, n = 2;
  const opt = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 2, curvatureEvery: 3 });
  const q = quadratic(SEED, d, n);
  const due: boolean[] = [];
  for (let i = 0; i < 10; i++) {
    due.push(opt.needsCurvature);
    const h = Array.from(opt.state.h), vh = Array.from(opt.state.vh);
    q.next();
    const info = opt.step(q.fn);
    t.is(info.curvature, due[i]);
    if (!due[i]) t.deepEqual([Array.from(opt.state.h), Array.from(opt.state.vh)], [h, vh]);
  }
  // steps 0 (bootstrap), then every third update
  t.deepEqual(due, [true, false, false, true, false, false, true, false, false, true]);
});

test('the outlier rule widens the memory of the coordinates it hits', (t) => {
  const d = 3, n = 1;
  const opt = new VSGDfd(new Float32Array(d), { minibatch: n, bootstrap: 4 });
  const grads = new Float32Array(d), shifted = new Float32Array(d);
  const r = rng(SEED);
  const feed = (last: boolean) => {
    // noisy gradients and noisy curvature; the last batch sits on the means except coordinate 1
    for (let i = 0; i < d; i++) grads[i] = last ? (i === 1 ? 1000 : opt.state.g[i]) : 1 + 0.1 * gauss(r);
    const at = opt.probe(grads);
    for (let i = 0; i < d; i++) {
      const c = last ? opt.state.h[i] : 2 * (1 + 0.5 * gauss(r));
      shifted[i] = grads[i] + c * (at[i] - opt.theta[i]);
    }
    return opt.update(grads, shifted);
  };
  for (let i = 0; i < 20; i++) feed(false);
  const tau = opt.state.tau[1], g = opt.state.g[1];
  const info = feed(true);
  t.is(info.outliers, 1);
  // the batch mean enters with weight 1/(tau + 1) instead of 1/tau
  const w = 1 / (tau + 1);
  const want = (1 - w) * g + w * grads[1];
  t.true(Math.abs(opt.state.g[1] - want) <= 1e-5 * Math.abs(want), `g = ${opt.state.g[1]}, expected ${want}`);
});

test("sparsity 'instance': rows with zero entries leave those coordinates untouched", (t) => {
  const d = 4, n = 2;
  const theta = new Float32Array(d).fill(1);
  const opt = new VSGDfd(theta, { minibatch: n, bootstrap: 1, sparsity: 'instance' });
  const grads = new Float32Array([1, 0, 2, 0, 1.5, 0, 0, 0]);
  opt.probe(grads);
  let info = opt.update(grads, grads);
  t.is(info.touched, 2);
  t.deepEqual(Array.from(opt.state.tau), [2, 0, 1, 0], 'per-coordinate sample counts');
  t.is(info.bootstrapping, 2, 'coordinates 1 and 3 have seen nothing yet');
  const before = snapshot(opt);
  const g2 = new Float32Array([0.5, 0, 0, 0, 0.7, 0, 0, 0]);
  opt.probe(g2);
  info = opt.update(g2, g2);
  t.is(info.touched, 1);
  const after = snapshot(opt);
  for (const i of [1, 2, 3]) {
    t.is(after.theta[i], before.theta[i]);
    for (const k of Object.keys(after.state)) t.is(after.state[k][i], before.state[k][i], `${k}[${i}]`);
  }
});

test('threads: 1 and 2 threads give the same bits', (t) => {
  const d = 200_000, n = 3; // steps below 65536 coordinates per thread run on one thread anyway
  const a = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, threads: 1 });
  const b = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, threads: 2 });
  const qa = quadratic(SEED, d, n), qb = quadratic(SEED, d, n);
  for (let i = 0; i < 15; i++) {
    qa.next();
    qb.next();
    a.step(qa.fn);
    b.step(qb.fn);
  }
  t.deepEqual(snapshot(a), snapshot(b));
});

test('VSGD takes curvature rows in place of shifted rows', (t) => {
  const d = 10, n = 4;
  const theta = new Float32Array(d).fill(3);
  const opt = new VSGD(theta, { minibatch: n });
  const q = quadratic(SEED, d, n);
  for (let i = 0; i < 200; i++) {
    q.next();
    opt.step((at, out, curv) => {
      q.fn(at, out);
      curv?.fill(1);
    });
  }
  t.deepEqual(Object.keys(opt.state), ['g', 'v', 'h', 'tau', 'eta']);
  t.true(theta.every((x) => Math.abs(x) < 1), `theta approaches the optimum: ${theta}`);
});

const makers: [string, (th: Float32Array) => Optimizer, (th: Float32Array, b: Uint8Array) => Optimizer][] = [
  ['VSGDfd', (th) => new VSGDfd(th, { minibatch: 3, curvatureEvery: 2 }), (th, b) => VSGDfd.load(th, b)],
  ['VSGDfd global', (th) => new VSGDfd(th, { minibatch: 3, sparsity: 'global' }), (th, b) => VSGDfd.load(th, b)],
  ['VSGD', (th) => new VSGD(th, { minibatch: 3 }), (th, b) => VSGD.load(th, b)],
  ['SGD', (th) => new SGD(th, { minibatch: 3, lr: 0.05, decay: 1 }), (th, b) => SGD.load(th, b)],
  ['AdaGrad', (th) => new AdaGrad(th, { minibatch: 3 }), (th, b) => AdaGrad.load(th, b)],
  ['NaturalGradient', (th) => new NaturalGradient(th, { minibatch: 3 }), (th, b) => NaturalGradient.load(th, b)],
  ['Adam', (th) => new Adam(th, { minibatch: 3, lr: 0.01 }), (th, b) => Adam.load(th, b)],
];

for (const [name, make, load] of makers) {
  test(`${name}: save() then load() continues bit-exactly`, (t) => {
    const d = 40;
    const theta = new Float32Array(d).fill(1);
    const opt = make(theta);
    const q = quadratic(SEED, d, 3);
    const fn = (at: Float32Array, out: Float32Array, curv?: Float32Array) => {
      q.fn(at, out);
      curv?.fill(1);
    };
    for (let i = 0; i < 15; i++) {
      q.next();
      opt.step(fn);
    }
    const bytes = opt.save();
    const theta2 = Float32Array.from(theta);
    const copy = load(theta2, bytes);
    t.is(copy.steps, opt.steps);
    t.deepEqual(snapshot(copy), snapshot(opt));
    for (let i = 0; i < 15; i++) {
      q.next();
      const a = opt.step(fn);
      const b = copy.step(fn);
      t.deepEqual(b, a);
    }
    t.deepEqual(snapshot(copy), snapshot(opt));
  });
}

test('damaged checkpoints are refused whole', (t) => {
  const theta = new Float32Array(16).fill(1);
  const opt = new VSGDfd(theta, { minibatch: 2 });
  const bytes = opt.save();
  t.throws(() => VSGDfd.load(theta, bytes.subarray(0, bytes.length - 9)), { message: /checksum|Invalid checkpoint/ });
  const flipped = bytes.slice();
  flipped[60] ^= 0x10;
  t.throws(() => VSGDfd.load(theta, flipped), { message: /checksum/ });
  t.throws(() => Adam.load(theta, bytes), { message: /another algorithm/ });
  t.throws(() => VSGDfd.load(new Float32Array(15), bytes), { instanceOf: RangeError, message: /d = 16.*length 15/ });
  t.throws(() => VSGDfd.load(theta, new Uint8Array(10)), { message: /fewer than any checkpoint/ });
  t.throws(() => VSGDfd.load(theta, [1, 2, 3] as unknown as Uint8Array), { instanceOf: TypeError, message: /bytes/ });
  t.throws(() => VSGDfd.load(theta, bytes, { lr: 1 } as never), { instanceOf: TypeError, message: /lr/ });
});

test('dispose() frees the engine; later calls throw, a second dispose is harmless', (t) => {
  const opt = new Adam(new Float32Array(3));
  opt.dispose();
  opt.dispose();
  t.is(opt.device, 'disposed');
  t.throws(() => opt.update(new Float32Array(3)), { message: /disposed/ });
  t.throws(() => opt.state, { message: /disposed/ });
  t.throws(() => opt.save(), { message: /disposed/ });
});

test('backends() reports the CPU and what CUDA can do here', (t) => {
  const b = backends();
  t.true(b.cpu.available);
  t.is(typeof b.cuda.compiled, 'boolean');
  t.is(typeof b.cuda.available, 'boolean');
  const opt = new VSGDfd(new Float32Array(2));
  t.is(opt.device, b.cuda.available ? 'cuda' : 'cpu', "device 'auto' picks CUDA only when it is usable");
  if (!b.cuda.available) {
    t.true(typeof b.cuda.reason === 'string' && b.cuda.reason.length > 0);
    t.throws(() => new VSGDfd(new Float32Array(2), { device: 'cuda' }), { message: /cuda.*not available/ });
  }
});

test('the built package loads through require and import, with declarations', (t) => {
  t.true(existsSync(`${root}dist/index.d.ts`), 'run `npm run build:ts` first (npm test does)');
  t.regex(readFileSync(`${root}dist/index.d.ts`, 'utf8'), /VSGDfd/);
  const script = 'const d = new Float32Array(3).fill(1); const o = new m.VSGDfd(d, { bootstrap: 1 }); ' +
    'const g = new Float32Array(3).fill(1); o.probe(g); o.update(g, g); o.probe(); o.update(g, g); console.log(m.backends().cpu.available, d[0] < 1);';
  const cjs = execFileSync(process.execPath, ['-e', `const m = require('vsgd-fd'); ${script}`], { cwd: root, encoding: 'utf8' });
  const esm = execFileSync(process.execPath, ['--input-type=module', '-e', `import * as m from 'vsgd-fd'; ${script}`], { cwd: root, encoding: 'utf8' });
  t.is(cjs.trim(), 'true true');
  t.is(esm.trim(), 'true true');
});

test('the probe point the update prepares equals a separate probe pass; invalidate() drops it', (t) => {
  const d = 64, n = 2;
  const theta = new Float32Array(d).fill(1);
  const opt = new VSGDfd(theta, { minibatch: n, bootstrap: 2, variant: 'paper' }); // δ = g (test/variant.test.ts: 'signed')
  const q = quadratic(SEED, d, n);
  for (let i = 0; i < 5; i++) {
    q.next();
    opt.step(q.fn);
  }
  const fused = Array.from(opt.probe());
  const g = opt.state.g;
  const want = Array.from(theta, (x, i) => Math.fround(x + (Math.abs(g[i]) < 1e-5 ? (g[i] < 0 ? -1e-5 : 1e-5) : g[i])));
  t.deepEqual(fused, want);
  theta[0] = 5;
  opt.invalidate();
  t.is(opt.probe()[0], Math.fround(5 + g[0]), 'a write to theta is seen after invalidate()');
});

test('updateAsync() runs off the main thread, matches update() bit for bit, and refuses overlap', async (t) => {
  const d = 1 << 20, n = 4;
  const a = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 1 });
  const b = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 1 });
  const grads = new Float32Array(n * d).map((_, k) => Math.sin(k));
  const shifted = grads.map((x) => x * 1.01 + 0.001);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  for (let i = 0; i < 4; i++) {
    a.probe(a.bootstrapping ? grads : undefined);
    const pending = a.updateAsync(grads, shifted);
    t.throws(() => a.update(grads, shifted), { message: /while updateAsync\(\) is in flight/ });
    t.throws(() => a.dispose(), { message: /updateAsync/ });
    await t.throwsAsync(a.updateAsync(grads, shifted), { message: /in flight/ });
    const ia = await pending;
    b.probe(b.bootstrapping ? grads : undefined);
    const ib = b.update(grads, shifted);
    t.deepEqual(ia, ib);
  }
  clearInterval(timer);
  t.deepEqual(snapshot(a), snapshot(b));
  t.true(ticks > 0, 'timers ran while the updates were in flight');
  await t.throwsAsync(a.updateAsync(new Float32Array(3)), { instanceOf: RangeError, message: /grads/ });
});

test('stepAsync() takes an asynchronous gradient function', async (t) => {
  const d = 20, n = 3;
  const a = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n });
  const b = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n });
  const qa = quadratic(SEED, d, n), qb = quadratic(SEED, d, n);
  for (let i = 0; i < 20; i++) {
    qa.next();
    qb.next();
    const ia = await a.stepAsync(async (at, out) => {
      await new Promise((r) => setImmediate(r));
      qa.fn(at, out);
    });
    t.deepEqual(ia, b.step(qb.fn));
  }
  t.deepEqual(snapshot(a), snapshot(b));
});

test('rowBuffers(): the buffers step() fills, to fill in place and pass to update()', (t) => {
  const d = 8, n = 3;
  const opt = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 1 });
  const { grads, extra } = opt.rowBuffers();
  t.is(grads.length, n * d);
  t.is(extra?.length, n * d);
  const seen: Float32Array[] = [];
  opt.step((at, out) => {
    seen.push(out);
    out.fill(0.5);
  });
  t.is(seen[0], grads, 'step() filled the same gradient buffer');
  t.is(seen[1], extra, 'and the same shifted buffer');
  grads.fill(0.25);
  opt.probe();
  (extra as Float32Array).fill(0.26);
  t.is(opt.update(grads, extra).rows, n);
  t.is(opt.rowBuffers(5).grads.length, 5 * d);
  t.throws(() => opt.rowBuffers(0), { instanceOf: RangeError, message: /positive integer for rows/ });
});
