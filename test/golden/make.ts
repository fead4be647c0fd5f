// Writes the golden checkpoints of test/golden.test.ts. Run once with the release that defines a
// format (`npx tsx test/golden/make.ts`); the files it wrote are never regenerated afterwards, so
// that later code must keep loading what earlier code saved. Format 1: written at commit 4aad20c.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdaGrad, Adam, NaturalGradient, type Optimizer, SGD, VSGD, VSGDfd } from '../../lib/index.ts';

const d = 7, n = 3;
// deterministic rows: a noisy quadratic with zero entries, so every sparsity mode has work
const rows = (t: number, at: Float32Array, out: Float32Array) => {
  for (let k = 0; k < out.length; k++) {
    const i = k % d, j = Math.floor(k / d);
    out[k] = (i + j + t) % 4 === 0 ? 0 : (1 + i / d) * at[i] - Math.sin(3 * k + t);
  }
};
const cases: [string, Optimizer][] = [
  ['vsgdfd', new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 3 })],
  ['vsgdfd-global', new VSGDfd(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 2, sparsity: 'global', curvatureEvery: 2 })],
  ['vsgd-instance', new VSGD(new Float32Array(d).fill(1), { minibatch: n, bootstrap: 2, sparsity: 'instance', outlierSigmas: 0 })],
  ['sgd', new SGD(new Float32Array(d).fill(1), { minibatch: n, lr: 0.05, decay: 1 })],
  ['adagrad', new AdaGrad(new Float32Array(d).fill(1), { minibatch: n })],
  ['natural', new NaturalGradient(new Float32Array(d).fill(1), { minibatch: n, epsilon: 1e-3 })],
  ['adam', new Adam(new Float32Array(d).fill(1), { minibatch: n, lr: 0.01 })],
];
const meta: Record<string, { theta: number[] }> = {};
for (const [name, opt] of cases) {
  for (let t = 0; t < 8; t++) {
    opt.step((at, out, curv) => {
      rows(t, at, out);
      curv?.fill(2);
    });
  }
  writeFileSync(join(__dirname, `${name}.ckpt`), opt.save());
  meta[name] = { theta: Array.from(opt.theta) };
  opt.dispose();
}
writeFileSync(join(__dirname, 'theta.json'), `${JSON.stringify(meta, null, 1)}\n`);
