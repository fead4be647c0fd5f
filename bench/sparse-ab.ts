// node --import tsx bench/sparse-ab.ts [--other DIR] [--d 1e7] [--rounds 21]
// Where the sparse step's time goes (docs/performance.md, "Sparse rows"), 10 rows × 100 entries:
//   1. the first calls against later ones at d = 10^4 (median of calls 0-39 and 40-159);
//   2. at d, with the caches emptied before every cycle of 8 calls: probeSparse and updateSparse
//      timed apart, and the random-update probe (addon.scatterProbe) on the same rows;
//   3. with --other DIR (another checkout of this library, built): both libraries loaded in this
//      process, their steps taking turns round by round, warm at d = 10^4 and cold at d; prints
//      this checkout's time over the other's (median over rounds, and range), and the same with each
//      step over the random-update probe on its own arrays;
//   4. at d, the step and the probe each timed after 1, 2, 4 or 8 passes of the cache flush (taking
//      turns round by round): from how many passes on the previous touch of the same lines no
//      longer speeds the timed cycle up (bench/sparse-rows.ts, cacheFlush).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { rng } from '../lib/problems/random.ts';
import { cacheFlush, csr, randomUpdateProbe, shiftedOf, sparseStep, touched } from './sparse-rows.ts';
import { summary, timesOf } from './timing.ts';

const { values: opt } = parseArgs({ options: { other: { type: 'string' }, d: { type: 'string', default: '1e7' }, rounds: { type: 'string', default: '21' } } });
const D = Number(opt.d), count = Number(opt.rounds);
const roots = [resolve(__dirname, '..'), ...(opt.other ? [resolve(opt.other as string)] : [])];
const libs = roots.map((root) => require(`${root}/lib/index.ts`) as typeof import('../lib/index.ts'));
const { addon } = require(`${roots[0]}/lib/native.ts`) as typeof import('../lib/native.ts');
const r = rng(2013);
const us = (ms: number) => `${(ms * 1e3).toFixed(1)} µs`;
const range = (xs: number[]) => { const s = summary(xs); return `${s.ms.toFixed(3)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`; };
const flush = cacheFlush(addon.triad);

function make(lib: (typeof libs)[number], d: number, cycle: ReturnType<typeof csr>[]) {
  const o = touched(new lib.VSGDfd(new Float32Array(d), { minibatch: 10, sparsity: 'instance', bootstrap: 2, threads: 1 }));
  return { o, step: sparseStep(o, cycle) };
}

// 1.
{
  const cycle = Array.from({ length: 8 }, () => csr(10, 100, 1e4, r));
  const { o, step } = make(libs[0], 1e4, cycle);
  const ms: number[] = [];
  for (let k = 0; k < 160; k++) { const t0 = performance.now(); step(k); ms.push(performance.now() - t0); }
  console.log(`1. d = 10^4, median step over calls 0-39: ${us(summary(ms.slice(0, 40)).ms)}, over calls 40-159: ${us(summary(ms.slice(40)).ms)}`);
  o.dispose();
}
// 2.
{
  const cycle = Array.from({ length: 8 }, () => csr(10, 100, D, r)), shifted = cycle.map(shiftedOf);
  const { o, step } = make(libs[0], D, cycle);
  for (let k = 0; k < 256; k++) step(k);
  const scatter = randomUpdateProbe(addon.scatterProbe, o, cycle);
  const P: number[] = [], U: number[] = [], S: number[] = [];
  for (let round = 0; round < count; round++) {
    flush();
    const p: number[] = [], u: number[] = [];
    for (let k = 0; k < 8; k++) {
      const t0 = performance.now();
      o.probeSparse(cycle[k]);
      const t1 = performance.now();
      o.updateSparse({ ...cycle[k], shifted: shifted[k] });
      p.push(t1 - t0), u.push(performance.now() - t1);
    }
    P.push(summary(p).ms), U.push(summary(u).ms);
    flush();
    S.push(timesOf(scatter, 8));
  }
  console.log(`2. d = ${D}, caches emptied, ${count} rounds: probeSparse ${us(summary(P).ms)}, updateSparse ${us(summary(U).ms)}, ` +
    `random-update probe ${us(summary(S).ms)}`);
  o.dispose();
}
// 3.
if (libs.length > 1) {
  for (const [d, cold] of [[1e4, false], [D, true]] as const) {
    const cycle = Array.from({ length: 8 }, () => csr(10, 100, d, r));
    const runs = libs.map((lib) => make(lib, d, cycle));
    for (const x of runs) for (let k = 0; k < 256; k++) x.step(k);
    // each library's step also over the probe on its own arrays: the arrays of two optimizers lie
    // in different physical memory, and the probe alone takes different times on them
    const probes = runs.map((x) => randomUpdateProbe(addon.scatterProbe, x.o, cycle));
    const T: number[][] = [[], []], Q: number[][] = [[], []];
    for (let round = 0; round < count; round++) {
      for (const w of round % 2 ? [1, 0] : [0, 1]) {  // either goes first in turn
        if (cold) flush();
        T[w].push(timesOf(runs[w].step, 8));
        if (cold) flush();
        Q[w].push(timesOf(probes[w], 8));
      }
    }
    console.log(`3. d = ${d}${cold ? ', caches emptied' : ''}: this ${us(summary(T[0]).ms)} (probe ${us(summary(Q[0]).ms)}), ` +
      `other ${us(summary(T[1]).ms)} (probe ${us(summary(Q[1]).ms)}); ` +
      `this / other ${range(T[0].map((a, k) => a / T[1][k]))}, each over its probe ${range(T[0].map((a, k) => (a / Q[0][k]) / (T[1][k] / Q[1][k])))} over ${count} rounds`);
    for (const x of runs) x.o.dispose();
  }
}
// 4.
{
  const cycle = Array.from({ length: 8 }, () => csr(10, 100, D, r));
  const { o, step } = make(libs[0], D, cycle);
  for (let k = 0; k < 256; k++) step(k);
  const scatter = randomUpdateProbe(addon.scatterProbe, o, cycle);
  const passes = [1, 2, 4, 8], pass = cacheFlush(addon.triad, 1);
  const flushes = passes.map((p) => () => { for (let k = 0; k < p; k++) pass(); });
  const S = passes.map(() => [] as number[]), Q = passes.map(() => [] as number[]);
  for (let round = 0; round < count; round++) {
    passes.forEach((_, x) => {
      flushes[x]();
      S[x].push(timesOf(step, 8));
      flushes[x]();
      Q[x].push(timesOf(scatter, 8));
    });
  }
  console.log(`4. d = ${D}, ${count} rounds, each cycle after p passes of the flush: ` + passes.map((p, x) =>
    `p = ${p}: step ${us(summary(S[x]).ms)}, probe ${us(summary(Q[x]).ms)}, step / probe ${range(S[x].map((a, k) => a / Q[x][k]))}`).join('; '));
  o.dispose();
}
