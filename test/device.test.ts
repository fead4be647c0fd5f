// The device-resident paths without a GPU: VSGD_FD_MIRROR=1 makes device 'cuda' run on the mirror
// backend (native/core/mirror.cpp), which keeps its own theta and state as a GPU does. Every result
// must match the CPU backend bit for bit, the state must be read back wherever the library hands
// it out (views, save), and an optimizer made with device 'auto' must move to the CPU at its first
// sparse or accumulate call.
import test from 'ava';
import { AdaGrad, Adam, backends, NaturalGradient, type Optimizer, SGD, type SparseRows, VSGD, VSGDfd } from '../lib/index.ts';
import { gauss } from './reference.ts';
import { rng, SEED } from './helpers.ts';

process.env.VSGD_FD_MIRROR = '1'; // read by the addon at each use; this file runs in its own process

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const stateBits = (o: Optimizer) => Object.fromEntries(Object.entries(o.state).map(([k, v]) => [k, bits(v)]));

function problem(seed: number, d: number) {
  const r = rng(seed);
  const a = Array.from({ length: d }, () => 0.5 + r());
  let xi = new Float64Array(0);
  return {
    next(n: number) {
      xi = Float64Array.from({ length: n * d }, () => (r() < 0.3 ? NaN : gauss(r))); // NaN marks a zero entry
    },
    fn(at: Float32Array, out: Float32Array, curv?: Float32Array) {
      for (let k = 0; k < out.length; k++) out[k] = Number.isNaN(xi[k]) ? 0 : a[k % d] * (at[k % d] - xi[k]);
      curv?.forEach((_, k) => (curv[k] = a[k % d]));
    },
  };
}

type Make = (theta: Float32Array, device: 'cpu' | 'cuda' | 'auto') => Optimizer;
const makers: [string, Make][] = [
  ['VSGDfd', (t, device) => new VSGDfd(t, { minibatch: 3, device })],
  ['VSGDfd instance every 2', (t, device) => new VSGDfd(t, { minibatch: 3, sparsity: 'instance', curvatureEvery: 2, device })],
  ['VSGDfd global', (t, device) => new VSGDfd(t, { minibatch: 3, sparsity: 'global', bootstrap: 4, device })],
  ['VSGDfd reweight', (t, device) => new VSGDfd(t, { minibatch: 4, reweight: true, device })],
  ['VSGD', (t, device) => new VSGD(t, { minibatch: 2, device })],
  ['SGD', (t, device) => new SGD(t, { lr: 0.1, device })],
  ['AdaGrad', (t, device) => new AdaGrad(t, { lr: 0.1, device })],
  ['NaturalGradient', (t, device) => new NaturalGradient(t, { lr: 0.01, device })],
  ['Adam', (t, device) => new Adam(t, { lr: 0.01, device })],
];

test('VSGD_FD_MIRROR=1 stands a CPU mirror in for the device', (t) => {
  t.true(backends().cuda.available);
  t.regex(backends().cuda.device ?? '', /mirror/);
  const o = new VSGDfd(new Float32Array(4));
  t.is(o.device, 'mirror', "device 'auto' picks it");
  t.is(new VSGDfd(new Float32Array(4), { device: 'cpu' }).device, 'cpu');
});

for (const [name, make] of makers) {
  test(`${name}: the device-resident path gives the CPU's bits; views, save() and invalidate() see the device's state`, (t) => {
    const d = 531;
    const cpu = make(new Float32Array(d).fill(1), 'cpu');
    const dev = make(new Float32Array(d).fill(1), 'cuda');
    t.is(dev.device, 'mirror');
    const p = problem(SEED, d);
    for (let step = 0; step < 30; step++) {
      p.next(cpu.options.minibatch as number);
      cpu.step(p.fn);
      dev.step(p.fn);
      t.deepEqual(bits(dev.theta), bits(cpu.theta), `theta after step ${step}`);
      if (step % 10 === 9) t.deepEqual(stateBits(dev), stateBits(cpu), `state after step ${step}`);
      if (step === 14) {
        // the caller rewrites theta and state, then says so: both must reach the device
        for (const o of [cpu, dev]) {
          for (let i = 0; i < d; i += 7) o.theta[i] *= 0.5;
          const first = Object.values(o.state)[0];
          if (first) for (let i = 0; i < d; i += 11) first[i] *= 0.75;
          o.invalidate();
        }
      }
    }
    // a checkpoint of the device's state continues on the CPU exactly as the device does
    const bytes = dev.save();
    const load = (cpu.constructor as unknown as { load(t: Float32Array, b: Uint8Array, o?: object): Optimizer }).load;
    const copy = load.call(cpu.constructor, Float32Array.from(dev.theta), bytes, { device: 'cpu' });
    for (let step = 0; step < 5; step++) {
      p.next(cpu.options.minibatch as number);
      copy.step(p.fn);
      dev.step(p.fn);
    }
    t.deepEqual(bits(copy.theta), bits(dev.theta), 'loaded on the CPU, continued alike');
    t.deepEqual(stateBits(copy), stateBits(dev));
  });
}

test('updateAsync() on the device-resident path gives the bits of update()', async (t) => {
  const d = 700, n = 2;
  const a = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, device: 'cuda' });
  const b = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, device: 'cpu' });
  const p = problem(SEED + 1, d);
  const grads = new Float32Array(n * d), shifted = new Float32Array(n * d);
  for (let step = 0; step < 12; step++) {
    p.next(n);
    p.fn(a.theta, grads);
    p.fn(a.probe(a.bootstrapping ? grads : undefined), shifted);
    b.probe(b.bootstrapping ? grads : undefined);
    await a.updateAsync(grads, shifted);
    b.update(grads, shifted);
  }
  t.deepEqual(bits(a.theta), bits(b.theta));
  t.deepEqual(stateBits(a), stateBits(b));
});

function csrOf(rows: Float32Array, n: number, d: number, extra?: Float32Array): SparseRows {
  const offsets = new Int32Array(n + 1), idx: number[] = [], val: number[] = [], ext: number[] = [];
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < d; i++) {
      if (rows[j * d + i] === 0) continue;
      idx.push(i), val.push(rows[j * d + i]);
      if (extra) ext.push(extra[j * d + i]);
    }
    offsets[j + 1] = idx.length;
  }
  return { offsets, indices: Int32Array.from(idx), values: Float32Array.from(val), ...(extra ? { shifted: Float32Array.from(ext) } : {}) };
}

test("device 'auto' moves to the CPU at the first sparse call, carrying the device's state; device 'cuda' refuses", (t) => {
  const d = 400, n = 3;
  const p = problem(SEED + 2, d);
  const auto = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, sparsity: 'instance', device: 'auto' });
  const cpu = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, sparsity: 'instance', device: 'cpu' });
  const cuda = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, sparsity: 'instance', device: 'cuda' });
  for (let step = 0; step < 6; step++) {
    p.next(n);
    for (const o of [auto, cpu, cuda]) o.step(p.fn);
  }
  t.is(auto.device, 'mirror');
  const grads = new Float32Array(n * d), shifted = new Float32Array(n * d);
  p.next(n);
  p.fn(cpu.theta, grads);
  const before = { theta: bits(cuda.theta), state: stateBits(cuda) };
  t.throws(() => cuda.probeSparse(csrOf(grads, n, d)), { message: /sparse rows run on the CPU only, and this optimizer was made with device 'cuda' \(mirror\); make it with device 'cpu' or 'auto'/ });
  t.deepEqual({ theta: bits(cuda.theta), state: stateBits(cuda) }, before, 'the refusal changed nothing');
  for (const o of [auto, cpu]) {
    const at = o.probeSparse(csrOf(grads, n, d));
    p.fn(at, shifted);
    o.updateSparse(csrOf(grads, n, d, shifted));
  }
  t.is(auto.device, 'cpu', 'moved for good');
  t.deepEqual(bits(auto.theta), bits(cpu.theta));
  t.deepEqual(stateBits(auto), stateBits(cpu));
});

test("device 'auto' moves to the CPU at the first accumulate call; device 'cuda' refuses it", (t) => {
  const d = 300, n = 4;
  const p = problem(SEED + 3, d);
  const auto = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 2 });
  const cpu = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 2, device: 'cpu' });
  for (let step = 0; step < 5; step++) {
    p.next(n);
    auto.step(p.fn);
    cpu.step(p.fn);
  }
  const grads = new Float32Array(n * d), shifted = new Float32Array(n * d);
  p.next(n);
  p.fn(cpu.theta, grads);
  const cuda = new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, device: 'cuda' });
  t.throws(() => cuda.accumulate(grads.subarray(0, d)), { message: /the accumulate form run on the CPU only/ });
  for (const o of [auto, cpu]) {
    o.accumulate(grads);
    p.fn(o.probe(), shifted);
    o.accumulateCurvature(grads, shifted);
    o.finish();
  }
  t.is(auto.device, 'cpu');
  t.deepEqual(bits(auto.theta), bits(cpu.theta));
  t.deepEqual(stateBits(auto), stateBits(cpu));
});
