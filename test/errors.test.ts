// Bad input: every refusal names the argument, what was expected and what came, and leaves
// theta and state exactly as they were; non-finite entries are skipped and counted.
import test, { type ExecutionContext } from 'ava';
import { Adam, type Optimizer, SGD, VSGD, VSGDfd } from '../lib/index.ts';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const snapshot = (o: Optimizer) => ({
  theta: bits(o.theta), steps: o.steps, state: Object.fromEntries(Object.entries(o.state).map(([k, v]) => [k, bits(v)])),
});

// A VSGDfd past its bootstrap, with a known state.
function ready(d = 4, n = 2) {
  const theta = new Float32Array(d).fill(1);
  const opt = new VSGDfd(theta, { minibatch: n, bootstrap: 2 });
  const grads = new Float32Array(n * d).map((_, k) => 0.5 + 0.1 * (k % 3));
  opt.probe(grads);
  opt.update(grads, grads.map((x) => x + 0.01));
  return { theta, opt, grads };
}

function refused(t: ExecutionContext, opt: Optimizer, fn: () => unknown, expected: { instanceOf?: new (...a: never[]) => Error; message: RegExp }) {
  const before = snapshot(opt);
  t.throws(fn, expected as never);
  t.deepEqual(snapshot(opt), before, 'theta and state unchanged');
}

test('constructor: theta and options are checked with clear messages', (t) => {
  t.throws(() => new VSGDfd([1, 2] as never), { instanceOf: TypeError, message: /Expected a Float32Array for theta but received an array of length 2/ });
  t.throws(() => new VSGDfd(new Float64Array(2) as never), { instanceOf: TypeError, message: /Float32Array for theta but received a Float64Array of length 2/ });
  t.throws(() => new VSGDfd(new Float32Array(0)), { instanceOf: RangeError, message: /at least one element for theta but received a Float32Array of length 0/ });
  const th = new Float32Array(3);
  t.throws(() => new VSGDfd(th, 5 as never), { instanceOf: TypeError, message: /options object/ });
  t.throws(() => new VSGDfd(th, { bootstap: 3 } as never), { instanceOf: TypeError, message: /Unknown option "bootstap" for VSGDfd \(did you mean "bootstrap"\?\)/ });
  t.throws(() => new Adam(th, { learningRate: 3 } as never), { instanceOf: TypeError, message: /Unknown option "learningRate".*known options: .*lr/ });
  t.throws(() => new VSGDfd(th, { minibatch: '10' } as never), { instanceOf: TypeError, message: /Expected a number for options.minibatch but received "10"/ });
  t.throws(() => new VSGDfd(th, { minibatch: 0 }), { instanceOf: RangeError, message: /an integer >= 1 and <= 2147483647 for options.minibatch but received 0/ });
  t.throws(() => new VSGDfd(th, { minibatch: 2.5 }), { instanceOf: RangeError, message: /integer.*received 2.5/ });
  t.throws(() => new VSGDfd(th, { sparsity: 'dense' } as never), { instanceOf: RangeError, message: /one of 'none', 'instance', 'global' for options.sparsity but received "dense"/ });
  t.throws(() => new VSGDfd(th, { epsilon: 0 }), { instanceOf: RangeError, message: />= 1e-30 for options.epsilon but received 0/ });
  t.throws(() => new VSGDfd(th, { outlierSigmas: NaN }), { instanceOf: RangeError, message: /options.outlierSigmas but received NaN/ });
  t.throws(() => new VSGDfd(th, { slowStart: 0.5 }), { instanceOf: RangeError, message: />= 1 and <= 1000000 for options.slowStart/ });
  // floats are bounded as the float32 the kernels see: nothing the addon's cast cannot represent
  t.throws(() => new VSGDfd(th, { epsilon: 1e39 }), { instanceOf: RangeError, message: /a finite float32 >= 1e-30 for options.epsilon but received 1e\+39/ });
  t.throws(() => new VSGDfd(th, { slowStart: 1e39 }), { instanceOf: RangeError, message: /<= 1000000 for options.slowStart but received 1e\+39/ });
  t.throws(() => new VSGDfd(th, { outlierSigmas: 3.5e38 }), { instanceOf: RangeError, message: /a finite float32 >= 0 for options.outlierSigmas/ });
  t.throws(() => new VSGDfd(th, { bootstrap: 2 ** 25 }), { instanceOf: RangeError, message: /<= 16777216 for options.bootstrap/ });
  t.throws(() => new SGD(th, { lr: 1e39 }), { instanceOf: RangeError, message: /a finite float32 > 0 for options.lr but received 1e\+39/ });
  t.throws(() => new SGD(th, { lr: 1e-50 }), { instanceOf: RangeError, message: /> 0 for options.lr but received 1e-50/ }); // 0 in float32
  t.throws(() => new Adam(th, { beta2: 1 - 1e-12 }), { instanceOf: RangeError, message: /< 1 for options.beta2/ }); // 1 in float32
  t.throws(() => new VSGDfd(th, { nonFinite: 'warn' } as never), { instanceOf: RangeError, message: /one of 'skip', 'throw' for options.nonFinite/ });
  t.is(new SGD(th, { lr: 3.4e38 }).options.lr, 3.4e38, 'the float32 limit itself is accepted');
  t.throws(() => new VSGDfd(th, { device: 'tpu' } as never), { instanceOf: RangeError, message: /options.device/ });
  t.throws(() => new VSGDfd(th, { threads: 0 }), { instanceOf: RangeError, message: /options.threads/ });
  t.throws(() => new Adam(th, { beta1: 1 }), { instanceOf: RangeError, message: /< 1 for options.beta1 but received 1/ });
  t.throws(() => new SGD(th, { lr: -1 }), { instanceOf: RangeError, message: /> 0 for options.lr but received -1/ });
});

test('update(): wrong types and sizes are refused and change nothing', (t) => {
  const { opt, grads } = ready();
  refused(t, opt, () => opt.update([1, 2] as never), { instanceOf: TypeError, message: /Float32Array for grads but received an array/ });
  refused(t, opt, () => opt.update(new Float32Array(7)), { instanceOf: RangeError, message: /positive multiple of d = 4 for grads but received a Float32Array of length 7/ });
  refused(t, opt, () => opt.update(new Float32Array(0)), { instanceOf: RangeError, message: /grads/ });
  opt.probe(grads);
  refused(t, opt, () => opt.update(grads, new Float32Array(4)), { instanceOf: RangeError, message: /length 8 \(2 rows of d = 4\) for shifted but received a Float32Array of length 4/ });
  refused(t, opt, () => opt.update(grads, new Float64Array(8) as never), { instanceOf: TypeError, message: /Float32Array for shifted/ });
  refused(t, opt, () => opt.update(grads), { instanceOf: TypeError, message: /shifted rows \(curvature is due.*for shifted but received undefined/ });
  const a = new Adam(new Float32Array(4));
  refused(t, a, () => a.update(grads, grads), { instanceOf: TypeError, message: /no second argument for Adam.update\(\)/ });
});

test('update(): shifted rows without a probe since the last update are refused', (t) => {
  const { opt, grads } = ready();
  refused(t, opt, () => opt.update(grads, grads), { message: /probe\(\) was not called since the last update/ });
});

test('probe(): checked like update()', (t) => {
  const opt = new VSGDfd(new Float32Array(4), { minibatch: 2 });
  refused(t, opt, () => opt.probe(), { instanceOf: TypeError, message: /while bootstrapping\) for grads but received undefined/ });
  refused(t, opt, () => opt.probe(new Float32Array(3)), { instanceOf: RangeError, message: /grads/ });
});

test('non-finite and overflowing entries are skipped and counted, never entering theta or state', (t) => {
  const { opt, theta } = ready(6, 2);
  const before = snapshot(opt);
  const grads = new Float32Array([NaN, 1, Infinity, 3e38, -Infinity, 1, 1, 1, 1, 3e38, 1, 1]);
  const at = opt.probe(grads);
  t.true(at.every(Number.isFinite), 'the probe point stays finite');
  const shifted = grads.map((x) => x + 0.1);
  shifted[7] = NaN; // coordinate 1's shifted entry
  const info = opt.update(grads, shifted);
  t.is(info.skipped, 5, 'coordinates 0 (NaN), 1 (NaN shifted), 2 (Inf), 3 (square overflows), 4 (-Inf)');
  t.is(info.touched, 1);
  const after = snapshot(opt);
  for (const i of [0, 1, 2, 3, 4]) {
    t.is(after.theta[i], before.theta[i]);
    for (const k of Object.keys(after.state)) t.is(after.state[k][i], before.state[k][i], `${k}[${i}]`);
  }
  t.not(after.theta[5], before.theta[5]);
  t.true(theta.every(Number.isFinite) && Object.values(opt.state).every((v) => v.every(Number.isFinite)));
  const a = new Adam(new Float32Array(2));
  t.is(a.update(new Float32Array([NaN, 1])).skipped, 1);
  t.is(a.theta[0], 0);
});

test('a detached or transferred theta gives an Error, never a crash', (t) => {
  const { opt, theta, grads } = ready();
  structuredClone(theta.buffer, { transfer: [theta.buffer] });
  t.throws(() => opt.update(grads), { message: /theta was detached or transferred \(length 4 expected, 0 now\)/ });
  t.throws(() => opt.probe(grads), { message: /detached/ });
  t.throws(() => opt.save(), { message: /detached/ });
  opt.dispose();
});

test('a SharedArrayBuffer-backed theta works like any other', (t) => {
  const shared = new Float32Array(new SharedArrayBuffer(16)).fill(1);
  const plain = new Float32Array(4).fill(1);
  const a = new Adam(shared, { lr: 0.1 }), b = new Adam(plain, { lr: 0.1 });
  const g = new Float32Array([1, -2, 3, -4]);
  for (let i = 0; i < 3; i++) t.deepEqual(a.update(g), b.update(g));
  t.deepEqual(bits(shared), bits(plain));
});

test('step(): a throwing callback, a bad return value or a re-entrant call are refused cleanly', (t) => {
  const { opt } = ready();
  refused(t, opt, () => opt.step(5 as never), { instanceOf: TypeError, message: /Expected a function for fn but received 5/ });
  refused(t, opt, () => opt.step(() => {
    throw new Error('user code failed');
  }), { message: /user code failed/ });
  refused(t, opt, () => opt.step(() => new Float32Array(3)), { instanceOf: RangeError, message: /array returned by the step callback/ });
  refused(t, opt, () => opt.step((() => Promise.resolve()) as never), { instanceOf: TypeError, message: /Promise/ });
  let inner: unknown;
  refused(t, opt, () => opt.step((at, out) => {
    out.fill(1);
    try {
      opt.update(out);
    } catch (e) {
      inner = e;
    }
    opt.step(() => undefined);
  }), { message: /VSGDfd.step\(\) was called from inside step\(\)'s callback; re-entrant calls are refused/ });
  t.regex(String(inner), /update\(\) was called from inside step\(\)/);
  t.throws(() => opt.step(() => opt.dispose()), { message: /dispose\(\) was called from inside step\(\)/ });
  // still usable afterwards
  const info = opt.step((at, out) => void out.fill(0.5));
  t.is(info.rows, 2);
});

test('step(): a callback that detaches theta is refused', (t) => {
  const { opt, theta } = ready();
  t.throws(() => opt.step((at, out) => {
    out.fill(1);
    structuredClone(theta.buffer, { transfer: [theta.buffer] });
  }), { message: /detached/ });
});

test('VSGD: curvature rows are checked like shifted rows', (t) => {
  const opt = new VSGD(new Float32Array(3), { minibatch: 1, sparsity: 'none' });
  refused(t, opt, () => opt.update(new Float32Array(3)), { instanceOf: TypeError, message: /curvature rows.*bootstrapping\) for curvature but received undefined/ });
  refused(t, opt, () => opt.update(new Float32Array(3), new Float32Array(6)), { instanceOf: RangeError, message: /for curvature/ });
});

test('after every refusal the optimizer continues exactly as one that never saw bad input', (t) => {
  const a = ready(), b = ready();
  const tries: (() => unknown)[] = [
    () => a.opt.update(new Float32Array(5)),
    () => a.opt.update(a.grads),
    () => a.opt.step(() => {
      throw new Error('x');
    }),
    () => a.opt.probe(new Float32Array(1)),
  ];
  for (const f of tries) t.throws(f);
  for (const { opt, grads } of [a, b]) {
    opt.probe(grads);
    opt.update(grads, grads.map((x) => x * 1.01));
  }
  t.deepEqual(snapshot(a.opt), snapshot(b.opt));
});
