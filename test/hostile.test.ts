// Hostile input, class by class and method by method (the matrix of docs/reliability.md): every
// refusal is an Error that says what was wrong, and theta and state keep their bits. Checkpoint
// bytes are crafted here from docs/checkpoint.md, independently of the library's encoder.
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { MessageChannel } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { AdaGrad, Adam, backends, NaturalGradient, type Optimizer, SGD, VSGD, VSGDfd } from '../lib/index.ts';

interface Cls {
  new (theta: Float32Array, options?: object): Optimizer;
  load(theta: Float32Array, bytes: Uint8Array, overrides?: object): Optimizer;
  name: string;
}
interface Algo {
  cls: Cls;
  extra: 'shifted' | 'curvature' | null;
  options: object; // valid; small bootstrap so that three steps get past it
  bad: [string, unknown][]; // options out of range, of the wrong type, or of another class
  typo: [string, string]; // a misspelled option and the name the hint should give
  big: number; // a finite gradient whose update overflows float32 for these options
}

const VSGD_BAD: [string, unknown][] = [
  ['minibatch', 0], ['minibatch', 1.5], ['minibatch', '2'], ['minibatch', Infinity], ['sparsity', 'dense'],
  ['sparsity', 1], ['curvatureEvery', 0], ['bootstrap', 0], ['bootstrap', NaN], ['slowStart', 0.5],
  ['epsilon', 0], ['epsilon', -1e-5], ['outlierSigmas', -1], ['device', 'gpu'], ['device', null],
  ['threads', 0], ['threads', 2.5], ['threads', 1025], ['lr', 0.1], ['reweight', 1], ['reweight', 'yes'],
];
const BASE_BAD: [string, unknown][] = [
  ['minibatch', 0], ['minibatch', -1], ['minibatch', 'x'], ['lr', 0], ['lr', -1], ['lr', Infinity], ['lr', '0.1'],
  ['device', 'tpu'], ['threads', 0], ['threads', 2 ** 31], ['sparsity', 'instance'], ['bootstrap', 2], ['reweight', true],
];
const ALGOS: Algo[] = [
  { cls: VSGDfd, extra: 'shifted', options: { minibatch: 2, bootstrap: 2 }, bad: VSGD_BAD, typo: ['bootstap', 'bootstrap'], big: 3e38 },
  { cls: VSGD, extra: 'curvature', options: { minibatch: 2, bootstrap: 2 }, bad: VSGD_BAD, typo: ['curvatureevery', 'curvatureEvery'], big: 3e38 },
  { cls: SGD, extra: null, options: { minibatch: 2, lr: 2 }, bad: [...BASE_BAD, ['decay', -1], ['epsilon', 1]], typo: ['decai', 'decay'], big: 3e38 },
  { cls: AdaGrad, extra: null, options: { minibatch: 2 }, bad: [...BASE_BAD, ['epsilon', 0], ['decay', 1]], typo: ['epsilom', 'epsilon'], big: 3e38 },
  { cls: NaturalGradient, extra: null, options: { minibatch: 2 }, bad: [...BASE_BAD, ['epsilon', -1]], typo: ['LR', 'lr'], big: 3e38 },
  { cls: Adam, extra: null, options: { minibatch: 2, lr: 0.01 }, bad: [...BASE_BAD, ['beta1', 1], ['beta2', -0.1], ['beta1', '0.9'], ['epsilon', 0]], typo: ['beta_1', 'beta1'], big: 3e38 },
];

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
// Bits of theta (unless detached) and of the state, read through views taken beforehand so that
// a refused call that also blocks `opt.state` can still be checked.
function snap(theta: Float32Array, views: Readonly<Record<string, Float32Array>>) {
  return { theta: theta.length ? bits(theta) : [], state: Object.fromEntries(Object.entries(views).map(([k, v]) => [k, bits(v)])) };
}

// per-sample gradients of a small quadratic, and unit curvature for VSGD
const fn = (at: Float32Array, out: Float32Array, curv?: Float32Array) => {
  for (let k = 0; k < out.length; k++) out[k] = at[k % at.length] - 0.25 * (k % 3);
  curv?.fill(1);
};

function ready(a: Algo, d = 4) {
  const theta = new Float32Array(d).fill(1);
  const opt = new a.cls(theta, a.options);
  for (let i = 0; i < 3; i++) opt.step(fn);
  return { theta, opt, views: opt.state };
}

function refused(t: ExecutionContext, theta: Float32Array, views: Record<string, Float32Array>, call: () => unknown, message: RegExp, type: new (...a: never[]) => Error = Error) {
  const before = snap(theta, views);
  const e = t.throws(call, { message });
  if (e) t.true(e instanceof type, `${e.constructor.name} is a ${type.name}: ${e.message}`);
  t.deepEqual(snap(theta, views), before, `theta and state unchanged after: ${message}`);
}

// One update with whatever the class needs on this step.
function update(opt: Optimizer, a: Algo, grads: Float32Array, extra?: Float32Array) {
  if (a.extra === 'shifted' && opt.needsCurvature) {
    (opt as VSGDfd).probe(grads);
    return opt.update(grads, extra ?? grads.map((x) => x + 0.1));
  }
  if (a.extra === 'curvature' && opt.needsCurvature) return opt.update(grads, extra ?? new Float32Array(grads.length).fill(1));
  return opt.update(grads);
}

for (const a of ALGOS) {
  const N = a.cls.name;

  test(`${N}: constructor refuses wrong theta with a TypeError or RangeError`, (t) => {
    const detached = new Float32Array(4);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    for (const bad of [undefined, null, 4, 'x', [1, 2], {}, new Float64Array(4), new Int32Array(4), new Uint8Array(16), new DataView(new ArrayBuffer(16))]) {
      t.throws(() => new a.cls(bad as never, a.options), { instanceOf: TypeError, message: /Expected a Float32Array for theta but received/ });
    }
    for (const empty of [new Float32Array(0), detached]) {
      t.throws(() => new a.cls(empty, a.options), { instanceOf: RangeError, message: /at least one element for theta but received a Float32Array of length 0/ });
    }
  });

  test(`${N}: constructor refuses options of the wrong type, out of range, misspelled or of another class`, (t) => {
    const theta = new Float32Array(3);
    for (const bad of [5, 'fast', [1], null, true, () => 1]) {
      t.throws(() => new a.cls(theta, bad as never), { instanceOf: TypeError, message: new RegExp(`Expected an options object for ${N} options`) });
    }
    for (const [key, value] of a.bad) {
      const e = t.throws(() => new a.cls(theta, { ...a.options, [key]: value }), { message: new RegExp(`options\\.${key}|Unknown option "${key}"`) });
      if (e) t.true(e instanceof TypeError || e instanceof RangeError, `${key} = ${String(value)}: ${e.message}`);
    }
    if (a.extra) t.throws(() => new a.cls(theta, { reweight: true, sparsity: 'instance' }), { instanceOf: RangeError, message: /options.reweight/ });
    const [typo, hint] = a.typo;
    t.throws(() => new a.cls(theta, { [typo]: 1 }), { instanceOf: TypeError, message: new RegExp(`Unknown option "${typo}" for ${N} \\(did you mean "${hint}"\\?\\)`) });
    t.throws(() => new a.cls(theta, { get minibatch(): number { throw new Error('getter failed'); } }), { message: /getter failed/ });
    t.is(theta.every((x) => x === 0), true, 'theta untouched');
  });

  test(`${N}: update() refuses wrong rows and changes nothing`, (t) => {
    const { theta, opt, views } = ready(a);
    for (const bad of [undefined, null, 1, [1, 2, 3, 4], new Float64Array(4), new Int8Array(4), 'grads']) {
      refused(t, theta, views, () => opt.update(bad as never), /Expected a Float32Array for grads but received/, TypeError);
    }
    for (const len of [0, 3, 5, 9]) {
      refused(t, theta, views, () => opt.update(new Float32Array(len)), /positive multiple of d = 4 for grads/, RangeError);
    }
    const grads = new Float32Array(8).fill(0.5);
    if (a.extra) {
      if (a.extra === 'shifted') (opt as VSGDfd).probe(grads);
      refused(t, theta, views, () => opt.update(grads, new Float32Array(4)), new RegExp(`length 8 \\(2 rows of d = 4\\) for ${a.extra}`), RangeError);
      refused(t, theta, views, () => opt.update(grads, [1] as never), new RegExp(`Float32Array for ${a.extra}`), TypeError);
      refused(t, theta, views, () => opt.update(grads, new Float64Array(8) as never), new RegExp(`Float32Array for ${a.extra}`), TypeError);
    } else {
      refused(t, theta, views, () => opt.update(grads, grads), new RegExp(`no second argument for ${N}.update\\(\\)`), TypeError);
    }
    const other = ready(a);
    update(opt, a, grads);
    update(other.opt, a, grads);
    t.deepEqual(snap(theta, views), snap(other.theta, other.views), 'continues as one that never saw bad input');
  });

  test(`${N}: probe() refuses wrong rows (VSGDfd) or does not exist`, (t) => {
    const { theta, opt, views } = ready(a);
    if (a.cls !== VSGDfd) {
      t.is((opt as unknown as { probe?: unknown }).probe, undefined);
      return;
    }
    const o = opt as VSGDfd;
    refused(t, theta, views, () => o.probe(new Float32Array(5)), /grads/, RangeError);
    refused(t, theta, views, () => o.probe([0.5] as never), /Float32Array for grads/, TypeError);
    const fresh = new VSGDfd(new Float32Array(4), a.options);
    t.throws(() => fresh.probe(), { instanceOf: TypeError, message: /while bootstrapping\) for grads but received undefined/ });
  });

  test(`${N}: a step callback that throws, returns the wrong size or type, or a Promise leaves everything as it was`, (t) => {
    const { theta, opt, views } = ready(a);
    let calls = 0;
    refused(t, theta, views, () => opt.step(5 as never), /Expected a function for fn but received 5/, TypeError);
    refused(t, theta, views, () => opt.step(() => {
      throw new Error('user code failed');
    }), /user code failed/);
    if (a.extra === 'shifted') {
      opt.step(fn); // the next step takes curvature again (curvatureEvery 1): fail in the second call
      refused(t, theta, views, () => opt.step((at, out) => {
        if (calls++) throw new Error('second call failed');
        fn(at, out);
      }), /second call failed/);
    }
    refused(t, theta, views, () => opt.step(() => new Float32Array(7)), /length 8 \(2 rows of d = 4\) for the array returned by the step callback/, RangeError);
    refused(t, theta, views, () => opt.step(() => new Float64Array(8) as never), /Float32Array for the array returned by the step callback/, TypeError);
    refused(t, theta, views, () => opt.step((() => Promise.resolve()) as never), /Promise/, TypeError);
    // a twin that saw only the good steps ends with the same bits
    const twin = ready(a);
    if (a.extra === 'shifted') twin.opt.step(fn);
    opt.step(fn);
    twin.opt.step(fn);
    t.deepEqual(snap(theta, views), snap(twin.theta, twin.views));
  });

  test(`${N}: re-entrant calls from a step callback are refused; the step itself completes`, (t) => {
    const { opt } = ready(a);
    const twin = ready(a);
    const errors: Record<string, string> = {};
    const inner: Record<string, () => unknown> = {
      update: () => opt.update(new Float32Array(8)),
      step: () => opt.step(fn),
      save: () => opt.save(),
      state: () => opt.state,
      invalidate: () => opt.invalidate(),
      dispose: () => opt.dispose(),
    };
    if (a.extra === 'shifted') inner.probe = () => (opt as VSGDfd).probe(new Float32Array(8));
    const info = opt.step((at, out, curv) => {
      fn(at, out, curv);
      for (const [name, call] of Object.entries(inner)) {
        try {
          call();
          errors[name] = 'not refused';
        } catch (e) {
          errors[name] = (e as Error).message;
        }
      }
    });
    for (const [name, message] of Object.entries(errors)) t.regex(message, new RegExp(`${N}\\.${name}\\(\\) was called from inside step\\(\\)`), name);
    t.deepEqual(info, twin.opt.step(fn));
    t.deepEqual(snap(opt.theta, opt.state), snap(twin.theta, twin.opt.state));
    t.is(opt.device, 'cpu', 'not disposed');
  });

  test(`${N}: non-finite and overflowing gradients are skipped and counted; nothing non-finite enters`, (t) => {
    const { theta, opt, views } = ready(a, 6);
    const before = snap(theta, views);
    const B = a.big;
    // coordinates: 0 NaN, 1 +Inf, 2 -Inf, 3 finite but its update overflows, 4 and 5 ordinary
    const grads = new Float32Array([NaN, Infinity, -Infinity, B, 0.5, -0.5, 0.1, 0.2, 0.3, B, 0.4, 0.6]);
    const info = update(opt, a, grads);
    t.is(info.skipped, 4, JSON.stringify(info));
    t.is(info.touched, 2);
    const after = snap(theta, views);
    for (const i of [0, 1, 2, 3]) {
      t.is(after.theta[i], before.theta[i], `theta[${i}]`);
      for (const k of Object.keys(after.state)) t.is(after.state[k][i], before.state[k][i], `${k}[${i}]`);
    }
    t.true(theta.every(Number.isFinite) && Object.values(views).every((v) => v.every(Number.isFinite)));
    if (a.extra) {
      // a bad entry only in the shifted / curvature rows skips that coordinate too
      const extra = new Float32Array(12).fill(1);
      extra[4] = NaN;
      const g = new Float32Array(12).fill(0.5);
      if (a.extra === 'shifted') (opt as VSGDfd).probe(g);
      t.is(opt.update(g, extra).skipped, 1);
    }
    t.true(theta.every(Number.isFinite) && Object.values(views).every((v) => v.every(Number.isFinite)));
  });

  test(`${N}: d = 0 is refused; d = 1 steps, saves and loads`, (t) => {
    t.throws(() => new a.cls(new Float32Array(0)), { instanceOf: RangeError });
    const theta = new Float32Array([3]);
    const opt = new a.cls(theta, { ...a.options, minibatch: 1 });
    for (let i = 0; i < 40; i++) opt.step(fn);
    t.true(Number.isFinite(theta[0]));
    t.is(opt.steps, 40);
    const copy = a.cls.load(Float32Array.from(theta), opt.save());
    t.deepEqual(snap(copy.theta, copy.state), snap(theta, opt.state));
    t.deepEqual(copy.step(fn), opt.step(fn));
  });

  test(`${N}: theta detached, transferred or resized: every method refuses with an Error`, (t) => {
    const methods = (opt: Optimizer): [string, () => unknown][] => {
      const m: [string, () => unknown][] = [['update', () => opt.update(new Float32Array(8))], ['step', () => opt.step(fn)],
        ['save', () => opt.save()], ['state', () => opt.state], ['invalidate', () => opt.invalidate()]];
      if (a.extra === 'shifted') m.push(['probe', () => (opt as VSGDfd).probe(new Float32Array(8))]);
      return m;
    };
    const detachers: [string, (theta: Float32Array) => Float32Array][] = [
      ['structuredClone transfer', (th) => (structuredClone(th.buffer, { transfer: [th.buffer as ArrayBuffer] }), th)],
      ['postMessage transfer', (th) => {
        const { port1, port2 } = new MessageChannel();
        port1.postMessage(th.buffer, [th.buffer as ArrayBuffer]);
        port1.close();
        port2.close();
        return th;
      }],
    ];
    for (const [how, detach] of detachers) {
      const { theta, opt, views } = ready(a);
      const state = snap(new Float32Array(0), views);
      detach(theta);
      for (const [name, call] of methods(opt)) {
        t.throws(call, { message: new RegExp(`${N}\\.${name}\\(\\): theta was detached or transferred \\(length 4 expected, 0 now\\)`) }, `${how}: ${name}`);
      }
      t.deepEqual(snap(new Float32Array(0), views), state, `${how}: state unchanged`);
      opt.dispose();
    }
    // a length-tracking view of a resizable buffer: shrunk or grown, the length no longer matches
    for (const bytes of [8, 32]) {
      const rab = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer & { resize(n: number): void })(16, { maxByteLength: 64 });
      const theta = new Float32Array(rab).fill(1);
      const opt = new a.cls(theta, a.options);
      opt.step(fn);
      rab.resize(bytes);
      for (const [name, call] of methods(opt)) t.throws(call, { message: /theta was detached or transferred/ }, `resized to ${bytes}: ${name}`);
      opt.dispose();
    }
  });

  test(`${N}: a SharedArrayBuffer-backed theta (and rows) give the same bits as plain memory`, (t) => {
    const shared = new Float32Array(new SharedArrayBuffer(16)).fill(1);
    const plain = new Float32Array(4).fill(1);
    const s = new a.cls(shared, a.options), p = new a.cls(plain, a.options);
    const sharedFn = (at: Float32Array, out: Float32Array, curv?: Float32Array) => {
      const rows = new Float32Array(new SharedArrayBuffer(out.length * 4));
      fn(at, rows, curv);
      return rows;
    };
    for (let i = 0; i < 6; i++) t.deepEqual(s.step(sharedFn), p.step(fn));
    t.deepEqual(snap(shared, s.state), snap(plain, p.state));
    const copy = a.cls.load(new Float32Array(new SharedArrayBuffer(16)).fill(0), s.save());
    t.deepEqual(snap(new Float32Array(0), copy.state), snap(new Float32Array(0), p.state));
  });

  test(`${N}: use after dispose() throws for every method; dispose() twice is harmless`, (t) => {
    const { theta, opt, views } = ready(a);
    const bytes = opt.save();
    const before = snap(theta, views);
    opt.dispose();
    opt.dispose();
    t.is(opt.device, 'disposed');
    t.is(opt.steps, 3);
    const calls: [string, () => unknown][] = [['update', () => opt.update(new Float32Array(8))], ['step', () => opt.step(fn)],
      ['save', () => opt.save()], ['state', () => opt.state], ['invalidate', () => opt.invalidate()]];
    if (a.extra === 'shifted') calls.push(['probe', () => (opt as VSGDfd).probe(new Float32Array(8))]);
    for (const [name, call] of calls) t.throws(call, { message: new RegExp(`${N}\\.${name}\\(\\): this optimizer was disposed`) });
    t.deepEqual(snap(theta, views), before);
    t.is(a.cls.load(theta, bytes).steps, 3, 'its checkpoint still loads');
  });

  test(`${N}: load() refuses wrong arguments, every truncation and every bit flip`, (t) => {
    const { theta, opt } = ready(a, 2);
    const bytes = opt.save();
    const before = bits(theta);
    for (const bad of [undefined, null, 'x', [1], new Float64Array(2)]) {
      t.throws(() => a.cls.load(bad as never, bytes), { instanceOf: TypeError, message: /Float32Array for theta/ });
    }
    for (const bad of [undefined, null, 7, 'bytes', Array.from(bytes), bytes.buffer, new Int8Array(bytes.buffer), new DataView(bytes.buffer)]) {
      t.throws(() => a.cls.load(theta, bad as never), { instanceOf: TypeError, message: /Expected a Uint8Array \(from save\(\)\) for bytes/ });
    }
    t.throws(() => a.cls.load(theta, bytes, { lr: 1 }), { instanceOf: TypeError, message: /Unknown load override "lr"; known: device, threads/ });
    t.throws(() => a.cls.load(theta, bytes, { device: 'gpu' }), { instanceOf: RangeError, message: /options.device/ });
    t.throws(() => a.cls.load(theta, bytes, { threads: -1 }), { instanceOf: RangeError, message: /options.threads/ });
    t.throws(() => a.cls.load(new Float32Array(3), bytes), { instanceOf: RangeError, message: /it holds d = 2 coordinates but theta has length 3/ });
    for (let len = 0; len < bytes.length; len++) {
      t.throws(() => a.cls.load(theta, bytes.subarray(0, len)), { message: /^Invalid checkpoint: (it has \d+ bytes|checksum mismatch)/ }, `truncated to ${len}`);
    }
    let flips = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (let b = 0; b < 8; b++) {
        const x = bytes.slice();
        x[i] ^= 1 << b;
        try {
          a.cls.load(theta, x);
        } catch (e) {
          if (/^Invalid checkpoint: /.test((e as Error).message)) flips++;
        }
      }
    }
    t.is(flips, bytes.length * 8, 'every single-bit error refused');
    for (const other of ALGOS.filter((o) => o !== a)) {
      t.throws(() => other.cls.load(theta, bytes), { message: new RegExp(`saved by another algorithm \\(${a.cls.name}\\), not ${other.cls.name}`) });
    }
    t.deepEqual(bits(theta), before, 'no refused load wrote theta');
    t.is(a.cls.load(theta, Buffer.from(bytes)).steps, 3, 'a Buffer is a Uint8Array');
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
    shared.set(bytes);
    t.is(a.cls.load(theta, shared).steps, 3, 'shared bytes load (from a private copy)');
  });
}

test('load(): overrides that are not an object are refused with a clear TypeError', (t) => {
  const theta = new Float32Array(2);
  const bytes = new Adam(theta).save();
  for (const bad of [null, 5, 'cpu']) t.throws(() => Adam.load(theta, bytes, bad as never), { instanceOf: TypeError, message: /overrides/ });
});

// ---- crafted checkpoints: the checksum is right, a field is not

interface Craft { magic?: string; version?: number; algo?: number; d?: number; steps?: number; json?: string | Uint8Array; len?: number; pad?: number; count?: number; state?: ArrayLike<number>; tail?: number }
function craft(c: Craft = {}): Uint8Array {
  const json = c.json instanceof Uint8Array ? c.json : new TextEncoder().encode(c.json ?? '{"minibatch":1,"bootstrap":1}');
  const state = Float32Array.from(c.state ?? new Array(18).fill(0)); // VSGDfd, d = 3: six arrays
  const padded = (json.length + 3) & ~3;
  const out = new Uint8Array(36 + padded + 4 + 4 * state.length + (c.tail ?? 0) + 4);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode(c.magic ?? 'VSGDFDCK'), 0);
  v.setUint32(8, c.version ?? 1, true);
  v.setUint32(12, c.algo ?? 0, true);
  v.setFloat64(16, c.d ?? 3, true);
  v.setFloat64(24, c.steps ?? 0, true);
  v.setUint32(32, c.len ?? json.length, true);
  out.set(json, 36);
  if (c.pad) out[36 + json.length] = c.pad;
  v.setUint32(36 + padded, c.count ?? state.length, true);
  state.forEach((x, k) => v.setFloat32(36 + padded + 4 + 4 * k, x, true));
  v.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

test('checkpoint: a crafted valid checkpoint loads (the test encoder agrees with docs/checkpoint.md)', (t) => {
  const opt = VSGDfd.load(new Float32Array(3), craft({ steps: 4 }));
  t.is(opt.steps, 4);
  t.is(opt.options.bootstrap, 1);
  t.true(opt.bootstrapping);
});

test('checkpoint: fields the checksum covers are still validated, and a bad one refuses the whole load', (t) => {
  const theta = new Float32Array(3).fill(7);
  const cases: [string, Craft, RegExp][] = [
    ['magic', { magic: 'VSGDFDCX' }, /magic bytes/],
    ['version', { version: 2 }, /format version 2; this build reads version 1/],
    ['algorithm id', { algo: 6 }, /unknown algorithm id 6/],
    ['algorithm id 2^32-1', { algo: 0xffffffff }, /unknown algorithm id 4294967295/],
    ['d = 0', { d: 0, state: [] }, /d = 0 is not a whole number >= 1/],
    ['d fractional', { d: 1.5 }, /d = 1.5/],
    ['d NaN', { d: NaN }, /d = nan/],
    ['d beyond 2^53', { d: 2 ** 53 }, /d = 9007199254740992/],
    ['steps negative', { steps: -1 }, /steps = -1/],
    ['steps fractional', { steps: 0.5 }, /steps = 0.5/],
    ['steps infinite', { steps: Infinity }, /steps = inf/],
    ['options length past the end', { len: 1e6 }, /options block runs past the end/],
    ['options padding', { json: '{"bootstrap":1}', pad: 1 }, /padding is not zero/],
    ['options empty', { json: '' }, /not a JSON object/],
    ['options array', { json: '[1]' }, /not a JSON object/],
    ['options nested', { json: '{"bootstrap":{"a":1}}' }, /not a number, a string or a boolean/],
    ['options null value', { json: '{"bootstrap":null}' }, /not a number, a string or a boolean/],
    ['options misspelled literal', { json: '{"bootstrap":tru}' }, /not a number, a string or a boolean/],
    ['options trailing comma', { json: '{"bootstrap":1,}' }, /expected a quoted option name/],
    ['options trailing bytes', { json: '{"bootstrap":1} x' }, /bytes after the object/],
    ['options leading zero', { json: '{"bootstrap":01}' }, /expected ',' or '}'/],
    ['options number overflow', { json: '{"bootstrap":1e999}' }, /number out of range/],
    ['options duplicate', { json: '{"bootstrap":1,"bootstrap":2}' }, /option "bootstrap" given twice/],
    ['options non-ASCII', { json: '{"sparsity":"nöne"}' }, /non-ASCII/],
    ['options escape beyond ASCII', { json: '{"sparsity":"\\u00e9"}' }, /beyond ASCII/],
    ['options unterminated', { json: '{"bootstrap' }, /unterminated string/],
    ['options control character', { json: '{"a\tb":1}' }, /control character/],
    ['options name not an identifier', { json: '{"a b":1}' }, /not an identifier/],
    ['options too many', { json: `{${Array.from({ length: 33 }, (_, i) => `"o${i}":1`).join(',')}}` }, /more than 32 options/],
    ['options long string', { json: `{"sparsity":"${'x'.repeat(65)}"}` }, /longer than 64/],
    ['options invalid UTF-8', { json: Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }, /non-ASCII/],
    ['sparsity unknown', { json: '{"sparsity":"dense"}' }, /options.sparsity is not 'none', 'instance' or 'global'/],
    ['sparsity a number', { json: '{"sparsity":1}' }, /options.sparsity is not/],
    ['state count lies', { count: 17 }, /17 state floats do not fill the 72 bytes left/],
    ['trailing bytes', { tail: 4 }, /18 state floats do not fill the 76 bytes left/],
    ['state size for another sparsity', { json: '{"sparsity":"global"}' }, /18 state floats where VSGDfd with these options and d = 3 keeps 21/],
    ['state not finite', { state: Object.assign(new Array(18).fill(0), { 5: NaN }) }, /state float 5 is not finite/],
    ['state infinite', { state: Object.assign(new Array(18).fill(0), { 17: -Infinity }) }, /state float 17 is not finite/],
    // fields: g 0-2, v 3-5, h 6-8, vh 9-11, tau 12-14, eta 15-17
    ['v negative', { state: Object.assign(new Array(18).fill(0), { 4: -1e-30 }) }, /state float 4 \(v of coordinate 1\) is negative, which no step writes/],
    ['vh negative', { state: Object.assign(new Array(18).fill(0), { 9: -26670 }) }, /state float 9 \(vh of coordinate 0\) is negative/],
  ];
  for (const [what, c, message] of cases) {
    t.throws(() => VSGDfd.load(theta, craft(c)), { message: new RegExp(`^Invalid checkpoint: .*${message.source}`) }, what);
  }
  // well-formed bytes whose options the constructor refuses
  t.throws(() => VSGDfd.load(theta, craft({ json: '{"bootstap":1}' })), { instanceOf: TypeError, message: /Unknown option "bootstap"/ });
  t.throws(() => VSGDfd.load(theta, craft({ json: '{"bootstrap":0}' })), { instanceOf: RangeError, message: /options.bootstrap/ });
  t.throws(() => VSGDfd.load(theta, craft({ json: '{"bootstrap":"1"}' })), { instanceOf: TypeError, message: /options.bootstrap/ });
  t.throws(() => VSGDfd.load(theta, craft({ json: '{"bootstrap":true}' })), { instanceOf: TypeError, message: /options.bootstrap/ });
  t.true(theta.every((x) => x === 7), 'theta untouched by every refusal');
  // signed fields may be negative (tau = -m counts a bootstrap's samples), and -0 is not negative
  const ok = VSGDfd.load(theta, craft({ state: Object.assign(new Array(18).fill(1), { 0: -2, 6: -3, 12: -1, 4: -0 }) }));
  t.deepEqual([ok.state.g[0], ok.state.h[0], ok.state.tau[0], Object.is(ok.state.v[1], -0)], [-2, -3, -1, true]);
  ok.dispose();
});

test('checkpoint: a state whose statistics give no finite rate reads eta 0 there, and that coordinate does not move', (t) => {
  // g = 1.3e20: finite, but g² overflows float, so the rate of coordinate 0 is not finite
  const state = [1.3e20, 0.5, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5, 5, 0, 0, 0];
  const opt = VSGDfd.load(new Float32Array([1, 2, 3]), craft({ state }));
  const info = opt.step((at, out) => { for (let i = 0; i < 3; i++) out[i] = at[i] - 0.5; });
  t.is(info.skipped, 1, JSON.stringify(info));
  t.is(opt.theta[0], 1, 'the coordinate with no finite rate stays');
  const read = Array.from(opt.state.eta);
  t.is(read[0], 0);
  t.true(read[1] > 0 && Number.isFinite(read[1]), String(read));
  opt.dispose();
});

test('checkpoint: save() refuses a state edited to hold a non-finite value', (t) => {
  const opt = new Adam(new Float32Array(3));
  opt.state.v[1] = NaN;
  t.throws(() => opt.save(), { message: /Cannot save: state float 4 is not finite/ });
});

test('state views written by hand with NaN: those coordinates are skipped and counted', (t) => {
  const opt = new AdaGrad(new Float32Array(4).fill(1));
  opt.state.s[2] = NaN;
  opt.invalidate();
  const info = opt.update(new Float32Array(4).fill(1));
  t.is(info.skipped, 1);
  t.is(opt.theta[2], 1);
});

test('backends(): arguments are ignored and every call returns a fresh object', (t) => {
  const a = backends(), b = (backends as (...x: unknown[]) => ReturnType<typeof backends>)(1, 'x', null);
  t.deepEqual(a, b);
  (a as { cpu: { available: boolean } }).cpu.available = false;
  t.true(backends().cpu.available);
});

test('updateSparse(): malformed CSR rows are refused before anything is read', (t) => {
  for (const cls of [VSGDfd, VSGD]) {
    const theta = new Float32Array(8).fill(1);
    const opt = new cls(theta, { sparsity: 'instance', bootstrap: 1, curvatureEvery: 1 });
    const views = opt.state;
    const I = (x: number[]) => Int32Array.from(x), F = (x: number[]) => Float32Array.from(x);
    const ok = { offsets: I([0, 2]), indices: I([1, 5]), values: F([1, 2]) };
    const extra = cls === VSGDfd ? 'shifted' : 'curvature';
    const bad: [string, object, RegExp][] = [
      ['index = d', { offsets: I([0, 1]), indices: I([8]), values: F([1]) }, /indices\[0\] = 8 is outside \[0, 8\)/],
      ['negative index', { offsets: I([0, 1]), indices: I([-1]), values: F([1]) }, /outside/],
      ['index 2^31-1', { offsets: I([0, 1]), indices: I([2 ** 31 - 1]), values: F([1]) }, /outside/],
      ['unsorted', { offsets: I([0, 2]), indices: I([3, 1]), values: F([1, 1]) }, /sorted and unique/],
      ['duplicate', { offsets: I([0, 2]), indices: I([1, 1]), values: F([1, 1]) }, /sorted and unique/],
      ['offsets decrease', { offsets: I([0, 2, 1]), indices: I([1, 2]), values: F([1, 1]) }, /must not decrease/],
      ['offsets past nnz', { offsets: I([0, 5]), indices: I([1, 2]), values: F([1, 1]) }, /runs past/],
      ['offsets[0] != 0', { offsets: I([1, 2]), indices: I([1, 2]), values: F([1, 1]) }, /offsets\[0\] must be 0/],
      ['no rows', { offsets: I([0]), indices: I([]), values: F([]) }, /at least 2 entries/],
      ['values short', { offsets: I([0, 2]), indices: I([1, 2]), values: F([1]) }, /rows.values/],
      ['offsets an array', { offsets: [0, 1], indices: I([1]), values: F([1]) }, /Int32Array for rows.offsets/],
      ['unknown field', { ...ok, weights: F([1, 1]) }, /Unknown field "weights"/],
    ];
    for (const [what, rows, message] of bad) {
      // the probe point of valid rows of the same shape, so that the refusal is the rows' own
      const { offsets, indices } = rows as { offsets: ArrayLike<number>; indices: ArrayLike<number> };
      const n = offsets.length - 1, nnz = indices.length;
      if (n >= 1) (opt as VSGDfd).probeSparse?.({ offsets: I([0, ...new Array(n).fill(nnz)]), indices: I([...Array(nnz).keys()]), values: F(new Array(nnz).fill(1)) });
      const withExtra = { ...rows, [extra]: new Float32Array((rows as { indices: { length: number } }).indices.length ?? 0) };
      refused(t, theta, views, () => opt.updateSparse(withExtra as never), message);
      if (cls === VSGDfd) refused(t, theta, views, () => (opt as VSGDfd).probeSparse(rows as never), message);
      t.pass(what);
    }
    opt.dispose();
  }
});

// libgomp aborts or crashes when asked for more threads than it can start (SIGSEGV at 100000,
// "out of memory" at 2^31 - 1), so the schema caps options.threads; checked in a child process.
test('threads: a thread count past the cap is refused, never a crash', (t) => {
  const lib = new URL('../lib/index.ts', import.meta.url).pathname;
  const script = `const { VSGDfd } = require(${JSON.stringify(lib)});
    for (const threads of [1024, 1025, 100000, 2 ** 31 - 1]) {
      try { new VSGDfd(new Float32Array(20000), { threads }).step((a, out) => void out.fill(1)); console.log('ran'); }
      catch (e) { console.log(e.constructor.name); }
    }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, `exit ${r.status} signal ${r.signal}: ${r.stderr.slice(-300)}`);
  t.is(r.stdout, 'ran\nRangeError\nRangeError\nRangeError\n');
});

// Rows that share memory with theta (or the state) across a block boundary: with two threads a
// block can read a coordinate another block already wrote. Copying such rows first (or refusing
// them) would make the result that of the rows as they were when update() was called.
test('rows overlapping theta give the bits of a copy of those rows', (t) => {
  // 2048 CPU blocks: the second thread writes its first block long before the first thread reads
  // that coordinate at the end of its half, so the race shows on every run
  const d = 1 << 20;
  const run = (alias: boolean) => {
    const buf = new Float32Array(d + 1).map((_, i) => Math.sin(i));
    const theta = buf.subarray(0, d);
    const opt = new Adam(theta, { threads: 2, lr: 0.1 });
    for (let k = 0; k < 10; k++) opt.update(alias ? buf.subarray(1, d + 1) : buf.slice(1, d + 1));
    return Buffer.from(theta.buffer, theta.byteOffset, theta.byteLength).toString('base64');
  };
  t.true(run(true) === run(false));
});
