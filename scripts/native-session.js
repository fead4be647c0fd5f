// A short session over every optimizer class, for scripts/native-checks.sh: create, step, save,
// load, continue, refuse damaged checkpoints, dispose. Run under valgrind, and to write the fuzz
// seeds. Usage: node --expose-gc scripts/native-session.js <built lib index.js> [seed dir]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const [libPath, seeds] = process.argv.slice(2);
const lib = require(path.resolve(libPath));

const setups = [
  ['VSGDfd', { minibatch: 2, bootstrap: 2 }], ['VSGDfd', { sparsity: 'instance', bootstrap: 1, curvatureEvery: 2 }],
  ['VSGDfd', { sparsity: 'global', minibatch: 3, threads: 2 }], ['VSGD', { minibatch: 2, bootstrap: 2 }],
  ['SGD', { lr: 0.05, decay: 0.5 }], ['AdaGrad', { minibatch: 2 }], ['NaturalGradient', {}], ['Adam', { lr: 0.01, threads: 1 }],
];
let k = 0;
for (const [name, options] of setups) {
  for (const d of [1, 5, 700]) {
    const theta = new Float32Array(d).fill(1);
    const opt = new lib[name](theta, { ...options, device: 'cpu' });
    const fn = (at, out, curv) => {
      for (let i = 0; i < out.length; i++) out[i] = at[i % d] * (1 + (i % 3)) - ((i * 7) % 5) / 5 + (i % 11 === 0 ? 0 : 0.1);
      if (curv) curv.fill(1.5);
    };
    for (let s = 0; s < 6; s++) opt.step(fn);
    const bytes = opt.save();
    if (seeds && d < 700) fs.writeFileSync(path.join(seeds, `seed-${k++}-${name}-${d}`), bytes);
    const copy = lib[name].load(Float32Array.from(theta), bytes);
    for (let s = 0; s < 3; s++) opt.step(fn), copy.step(fn);
    const damaged = bytes.slice(0, bytes.length - 3);
    try {
      lib[name].load(theta, damaged);
      throw new Error('a truncated checkpoint loaded');
    } catch (e) {
      if (!/Invalid checkpoint/.test(e.message)) throw e;
    }
    opt.dispose();
    copy.dispose();
  }
}
global.gc?.();
console.log(`session: ${setups.length * 3} optimizers created, stepped, saved, loaded and disposed`);
