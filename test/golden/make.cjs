// Writes the golden files of test/variant.test.ts: checkpoints saved by vsgd-fd before its
// variants existed (a build of that commit, 4aad20c, given as argv[2]: a checkout with dist/ and the
// addon built) and what that code computes when it continues from them:
//   node test/golden/make.cjs <old checkout> test/golden
const path = require('path'), fs = require('fs');
const lib = require(path.resolve(process.argv[2], 'dist/index.js'));
const out = path.resolve(process.argv[3]);
const d = 24, n = 3;
const grad = (step, j, i, at) => 0.3 * (1 + (i % 5)) * (at[i] - Math.sin(i)) + Math.sin(1.7 * step + 2.3 * j + 0.9 * i) * (i % 7 === 0 && j === 1 ? 0 : 1);
function rows(step, at) { const g = new Float32Array(n * d); for (let j = 0; j < n; j++) for (let i = 0; i < d; i++) g[j * d + i] = grad(step, j, i, at); return g; }
function run(opt, theta, from, to) {
  for (let step = from; step < to; step++) {
    const g = rows(step, theta);
    if (opt.needsCurvature) { const at = opt.probe(opt.bootstrapping ? g : undefined); opt.update(g, rows(step, at)); } else opt.update(g);
  }
}
const cases = { 'vsgdfd-none': { minibatch: n, bootstrap: 3 }, 'vsgdfd-instance': { minibatch: n, bootstrap: 3, sparsity: 'instance' } };
for (const [name, options] of Object.entries(cases)) {
  const theta = Float32Array.from({ length: d }, (_, i) => Math.cos(i));
  const opt = new lib.VSGDfd(theta, options);
  run(opt, theta, 0, 6);
  const bytes = opt.save();
  const saved = Array.from(theta);
  run(opt, theta, 6, 12);
  fs.writeFileSync(path.join(out, `${name}.ckpt`), bytes);
  fs.writeFileSync(path.join(out, `${name}.json`), JSON.stringify({ options, d, n, theta: saved, after: { steps: [6, 12], theta: Array.from(theta), state: Object.fromEntries(Object.entries(opt.state).map(([k, v]) => [k, Array.from(v)])) } }) + '\n');
  console.log(name, bytes.length, 'bytes; options', JSON.stringify(opt.options));
  opt.dispose();
}
