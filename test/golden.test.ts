// Checkpoints written by format 1's first release (test/golden/make.ts, never regenerated) keep
// loading: the state, the update count and the options come back as written, and the optimizer
// steps on from them.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdaGrad, Adam, NaturalGradient, type Optimizer, SGD, VSGD, VSGDfd } from '../lib/index.ts';

const dir = join(import.meta.dirname, 'golden');
const thetas = JSON.parse(readFileSync(join(dir, 'theta.json'), 'utf8')) as Record<string, { theta: number[] }>;
type Loader = { load(theta: Float32Array, bytes: Uint8Array): Optimizer };
const files: [string, Loader][] = [
  ['vsgdfd', VSGDfd], ['vsgdfd-global', VSGDfd], ['vsgd-instance', VSGD],
  ['sgd', SGD], ['adagrad', AdaGrad], ['natural', NaturalGradient], ['adam', Adam],
];

// The fields of format 1 (docs/checkpoint.md), read here without the library.
function fields(bytes: Uint8Array) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = v.getUint32(32, true), at = 36 + ((len + 3) & ~3);
  const count = v.getUint32(at, true);
  return {
    steps: v.getFloat64(24, true),
    options: JSON.parse(Buffer.from(bytes.subarray(36, 36 + len)).toString('utf8')) as Record<string, unknown>,
    state: Array.from({ length: count }, (_, k) => v.getFloat32(at + 4 + 4 * k, true)),
  };
}

for (const [name, cls] of files) {
  test(`${name}.ckpt (format 1) loads as written and steps on`, (t) => {
    const bytes = new Uint8Array(readFileSync(join(dir, `${name}.ckpt`)));
    const want = fields(bytes);
    const theta = Float32Array.from(thetas[name].theta);
    const opt = cls.load(theta, bytes);
    t.is(opt.steps, want.steps);
    t.deepEqual(Object.values(opt.state).flatMap((s) => Array.from(s as Float32Array)), want.state);
    for (const [key, value] of Object.entries(want.options)) t.is((opt.options as Record<string, unknown>)[key], value, key);
    const n = want.options.minibatch as number;
    for (let s = 0; s < 3; s++) {
      opt.step((at, out, curv) => {
        for (let k = 0; k < out.length; k++) out[k] = at[k % opt.d] - Math.cos(k + s);
        curv?.fill(2);
      });
    }
    t.is(opt.steps, want.steps + 3);
    t.true(theta.every(Number.isFinite) && theta.some((x, i) => x !== thetas[name].theta[i]), 'theta moved, finite');
    t.is(n, 3);
  });
}
