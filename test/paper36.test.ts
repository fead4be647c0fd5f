// The paper's elementary test suite (docs/experiments.md, "The suite"; the paper's Section 6): vSGD-fd with defaults, through step(),
// must improve on all 36 cases for n = 1 and n = 10. 100 runs are 100 coordinates of one
// optimizer, each with its own samples; the gain is log10(excess_0 / excess_1024).
import test from 'ava';
import { VSGDfd } from '../lib/index.ts';
import { cases, expectedExcess, gradRows } from '../lib/problems/elementary.ts';
import { gauss } from './reference.ts';
import { rng, SEED } from './helpers.ts';

const RUNS = 100;
const STEPS = 1024;

for (const n of [1, 10]) {
  test(`vSGD-fd with defaults improves on all 36 elementary cases, n = ${n}`, (t) => {
    const r = rng(SEED + n);
    const rows: string[] = [];
    const failed: string[] = [];
    for (const c of cases()) {
      const theta = new Float32Array(RUNS).fill(1);
      const opt = new VSGDfd(theta, { minibatch: n });
      const xi = new Float64Array(n * RUNS);
      const s = Math.sqrt(c.noise);
      // the same samples at theta and at the probe point, as the paper's finite difference needs
      const fn = (at: Float32Array, out: Float32Array) => gradRows(c, at, xi, n, RUNS, out);
      for (let step = 0; step < STEPS; step++) {
        for (let k = 0; k < xi.length; k++) xi[k] = s * gauss(r);
        opt.step(fn);
      }
      opt.dispose();
      const e0 = expectedExcess(c, 1);
      const excess = Array.from(theta, (th) => expectedExcess(c, th));
      const gains = excess.map((e) => Math.log10(e0 / e)).sort((a, b) => a - b);
      const mean = excess.reduce((a, b) => a + b) / RUNS;
      const meanGain = Math.log10(e0 / mean);
      const median = (gains[RUNS / 2 - 1] + gains[RUNS / 2]) / 2;
      const name = `${c.loss} A=${c.A} s2=${c.noise}`;
      rows.push(`${name.padEnd(22)} gain of the mean loss ${meanGain.toFixed(2).padStart(6)}  median run ${median.toFixed(2).padStart(6)}  worst run ${gains[0].toFixed(2).padStart(6)}`);
      if (!(meanGain > 0 && median > 0)) failed.push(name);
    }
    t.log(`seed ${SEED + n}\n` + rows.join('\n'));
    t.deepEqual(failed, [], `cases without improvement (VSGD_TEST_SEED=${SEED} reruns)`);
  });
}
