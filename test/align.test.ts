// Where theta starts within a 64-byte line: the optimizer lays its own arrays out as theta lies
// (the dense pass then reads them a whole line per load), and the numbers do not depend on it.
// The state's fields lie addon.stateStride(d) floats apart: whole lines, and never a multiple of
// 4 KiB, so that they do not all fall into the same cache sets.
import test from 'ava';
import { Adam, type Optimizer, VSGDfd } from '../lib/index.ts';
import { addon } from '../lib/native.ts';
import { gauss } from './reference.ts';
import { rng, SEED } from './helpers.ts';

const d = 203;  // neither a line's nor a vector's multiple: a peel, full lines and a tail

const mark = new Float32Array(1);
/** theta of d floats starting k floats past where `mark` lies within a 64-byte line: k = 0..15
 * are the sixteen places a Float32Array can start at */
function thetaAt(k: number, size = d): Float32Array {
  const raw = new Float32Array(size + 32);
  const base = addon.alignLike(raw, mark);
  const t = raw.subarray(base + k, base + k + size);
  t.fill(0.5);
  return t;
}

/** gradients of a noisy quadratic, the same sequence for every optimizer built from one seed */
function quadratic(seed: number, size = d) {
  const r = rng(seed);
  const a = Array.from({ length: size }, () => 0.5 + r());
  let xi: number[] = [];
  return {
    next(n: number) {
      xi = Array.from({ length: n * size }, () => gauss(r));
    },
    fn(at: Float32Array, out: Float32Array) {
      for (let k = 0; k < out.length; k++) out[k] = a[k % size] * (at[k % size] - xi[k]);
    },
  };
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const kinds: Array<[string, number, (theta: Float32Array) => Optimizer]> = [
  ['VSGDfd n = 1', 1, (th) => new VSGDfd(th, { minibatch: 1, bootstrap: 2 })],
  ['VSGDfd n = 3', 3, (th) => new VSGDfd(th, { minibatch: 3, bootstrap: 2, curvatureEvery: 2 })],
  ['Adam n = 2', 2, (th) => new Adam(th, { minibatch: 2 })],
];

test('the state, the probe point and the row buffers lie as theta does within a line', (t) => {
  for (const [k, size] of [[0, 208], [1, 208], [5, 208], [15, 208], [7, d]]) {
    for (const [name, n, make] of kinds) {
      const theta = thetaAt(k, size);
      const opt = make(theta);
      t.is(addon.alignLike(thetaAt(0), theta), k, 'the test puts theta where it says');
      for (const [field, view] of Object.entries(opt.state as Record<string, Float32Array>)) {
        t.is(addon.alignLike(view, theta), 0, `${name}: state.${field} with theta shifted by ${k} floats, d = ${size}`);
      }
      const q = quadratic(SEED, size);
      for (let s = 0; s < 4; s++) {
        q.next(n);
        opt.step((at, out) => {  // at theta, then (VSGDfd, curvature due) at the probe point
          t.is(addon.alignLike(out, theta), 0, `${name}: the rows with theta shifted by ${k} floats, d = ${size}`);
          t.is(addon.alignLike(at, theta), 0, `${name}: ${at === theta ? 'theta' : 'the probe point'} with theta shifted by ${k} floats, d = ${size}`);
          q.fn(at, out);
        });
      }
      opt.dispose();
    }
  }
});

test('the same bits wherever theta starts within a line', (t) => {
  for (const [name, n, make] of kinds) {
    const runs = Array.from({ length: 16 }, (_, k) => {
      const theta = thetaAt(k);
      const opt = make(theta);
      const q = quadratic(SEED);
      const infos = [];
      for (let s = 0; s < 8; s++) {
        q.next(n);
        infos.push(opt.step(q.fn));
      }
      const out = { theta: bits(theta), infos, state: Object.fromEntries(Object.entries(opt.state as Record<string, Float32Array>).map(([f, v]) => [f, bits(v)])) };
      opt.dispose();
      return out;
    });
    for (let k = 1; k < 16; k++) t.deepEqual(runs[k], runs[0], `${name}: theta shifted by ${k} floats against 0, seed ${SEED}`);
  }
});

test('the state\'s fields lie whole lines apart, and not a multiple of 4 KiB', (t) => {
  t.deepEqual([1, 16, 203, 1000, 1024, 4096, 1 << 24].map((n) => addon.stateStride(n)), [16, 16, 208, 1008, 1040, 4112, (1 << 24) + 16]);
  for (const size of [203, 1024, 1 << 16]) {
    const opt = new VSGDfd(new Float32Array(size), { minibatch: 1 });
    const starts = Object.values(opt.state as Record<string, Float32Array>).map((v) => v.byteOffset).sort((a, b) => a - b);
    for (let k = 1; k < starts.length; k++) {
      const gap = starts[k] - starts[k - 1];
      t.true(gap % 64 === 0 && gap % 4096 !== 0 && gap >= 4 * size, `d = ${size}: fields ${gap} bytes apart`);
    }
    opt.dispose();
  }
});

test('alignLike names the arrays it was given when they are not Float32Arrays', (t) => {
  t.throws(() => addon.alignLike([] as never, new Float32Array(1)), { instanceOf: TypeError, message: /array/ });
  t.throws(() => addon.alignLike(new Float32Array(1), null as never), { instanceOf: TypeError, message: /like/ });
});
