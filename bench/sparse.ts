// npm run bench:sparse [-- --quick] [--out FILE] [--threads K]
// Sparse rows (CSR) against d and against dense rows, and the cost of eq. 5 reweighting against
// n. Every case is vSGD-fd with curvature on every step (probe + update), rows built beforehand.
// Writes FILE (default bench/SPARSE.md) and prints it; without --out it also replaces its own
// marked section of BENCHMARKS.md (bench/run.ts writes the rest of that page).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type SparseRows, VSGDfd } from '../lib/index.ts';
import { addon } from '../lib/native.ts';
import { rng } from '../lib/problems/random.ts';
import { machine } from './report.ts';
import { cacheFlush, csr as csrOf, randomUpdateProbe, shiftedOf, sparseStep, touched } from './sparse-rows.ts';
import { type Budget, gc, measure, othersMeter, type Stat, summary, timesOf } from './timing.ts';

const { values: opt } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, threads: { type: 'string', default: '1' } },
});
const quick = opt.quick as boolean;
const root = resolve(__dirname, '..');
const out = resolve((opt.out as string | undefined) ?? join(root, 'bench', 'SPARSE.md'));
const threads = Number(opt.threads);
const budget: Budget = quick ? { ms: 50, minReps: 3, maxReps: 3, batchMs: 2 } : { ms: 1500, minReps: 5, maxReps: 15, batchMs: 20 };
const r = rng(2013);
const csr = (n: number, k: number, d: number) => csrOf(n, k, d, r);

function denseOf(rows: SparseRows, values: Float32Array, d: number): Float32Array {
  const n = rows.offsets.length - 1, a = new Float32Array(n * d);
  for (let j = 0; j < n; j++) for (let e = rows.offsets[j]; e < rows.offsets[j + 1]; e++) a[j * d + rows.indices[e]] = values[e];
  return a;
}

function timed(body: (k: number) => void, warm: number): Stat {
  for (let k = 0; k < warm; k++) body(k);
  gc();
  return measure(body, { ...budget, warmed: true });
}

const t = (ms: number) => (ms < 1 ? `${(ms * 1e3).toPrecision(3)} µs` : `${ms.toPrecision(3)} ms`);
const cell = (s: Stat) => `${t(s.ms)} (${t(s.min)}–${t(s.max)})`;
const lines: string[] = [];
const notes: string[] = [];
const meter = othersMeter();
const start = performance.now();

// 1. A sparse step against d at fixed nnz: O(nnz), whatever d is, up to cache and TLB misses; beside
// it the random-update probe: the same arrays (theta, the state, the probe point) read and written
// at the same indices, and nothing else (addon.scatterProbe, one thread). Every case takes turns:
// each round times, for every d, one cycle of steps and then the probe on the same cycle, so that
// all of them see the same minute of a shared machine; a ratio is the median of the rounds' ratios.
const targets: string[] = [];
{
  const n = 10, k = 100, ds = quick ? [1e4, 1e5] : [1e4, 1e5, 1e6, 1e7], count = quick ? 3 : 15, warm = quick ? 16 : 256;
  lines.push(`### Sparse step time against d (n = ${n} rows × ${k} entries = ${n * k} non-zeros)`, '',
    'The probe reads and writes theta and the six state arrays and writes the probe point at every index of the same rows: ' +
    `the memory traffic of the step with nothing else, measured beside it: ${count} rounds, each timing, for every d in turn, a cycle of 8 steps and then the probe on the same 8 rows ` +
    `(after ${warm} untimed steps of each; before every cycle, four passes over 96 MiB evict the cycle's lines from the caches). ` +
    'Times are medians (min–max) over the rounds of each round\'s median; the last column is the median (min–max) over the rounds of each round\'s step / probe.', '',
    '| d | probeSparse + updateSparse | per non-zero | random-update probe, per non-zero | step / probe |', '|---|---|---|---|---|');
  // the largest d again with options.hugePages: the same arrays on 2 MiB pages, for step and probe alike
  const cases = [...ds.map((d) => [d, false] as const), [ds[ds.length - 1], true] as const].map(([d, huge]) => {
    const o = touched(new VSGDfd(new Float32Array(d), { minibatch: n, sparsity: 'instance', bootstrap: 2, threads, hugePages: huge }));
    const cycle = Array.from({ length: 8 }, () => csr(n, k, d));
    const step = sparseStep(o, cycle);
    for (let j = 0; j < 32; j++) step(j);  // past bootstrap
    const scatter = randomUpdateProbe(addon.scatterProbe, o, cycle);
    return { d, huge, o, step, scatter, sm: [] as number[], pm: [] as number[] };
  });
  // the code paths compiled before anything is timed
  for (const c of cases) for (let j = 0; j < warm; j++) c.scatter(j), c.step(j);
  // Every timed cycle starts from caches that hold none of its lines, as the step of a model too
  // large for the caches meets them: the probe timed right after the step on the same rows would
  // otherwise find the step's lines in the L3, and the step those of the case before it or not.
  const flush = cacheFlush(addon.triad);
  gc();
  for (let round = 0; round < count; round++) {
    for (const c of cases) flush(), c.sm.push(timesOf(c.step, 8)), flush(), c.pm.push(timesOf(c.scatter, 8));
  }
  const per: number[] = [], probe: number[] = [], shares: Stat[] = [];
  const over = (xs: number[]): Stat => ({ ...summary(xs), reps: count });
  for (const c of cases) {
    const s = over(c.sm), p = over(c.pm), share = over(c.sm.map((a, r) => a / c.pm[r]));
    if (c.huge) {
      const last = per.length - 1;
      notes.push(`- With \`hugePages: true\` at d = 10^${Math.log10(c.d)} (theta, the state and the probe point on 2 MiB pages, for the step and the probe alike) ` +
        `the step took ${t(s.ms / (n * k))} per non-zero, ${(per[last] / (s.ms / (n * k))).toFixed(2)}× as fast as on 4 KiB pages, and the probe ${t(p.ms / (n * k))} ` +
        `(${(probe[last] / (p.ms / (n * k))).toFixed(2)}× as fast); step / probe ${share.ms.toFixed(2)} (${share.min.toFixed(2)}–${share.max.toFixed(2)} over ${count} rounds).`);
      console.error(`sparse d=${c.d}, hugePages: ${cell(s)}; probe ${cell(p)}`);
    } else {
      per.push(s.ms / (n * k));
      probe.push(p.ms / (n * k));
      shares.push(share);
      lines.push(`| 10^${Math.log10(c.d)} | ${cell(s)} | ${t(s.ms / (n * k))} | ${t(p.ms / (n * k))} | ${share.ms.toFixed(2)} (${share.min.toFixed(2)}–${share.max.toFixed(2)}) |`);
      console.error(`sparse d=${c.d}: ${cell(s)}; probe ${cell(p)}`);
    }
    c.o.dispose();
  }
  const last = per.length - 1;
  notes.push(`- From d = 10^${Math.log10(ds[0])} to 10^${Math.log10(ds[last])} the sparse step grew ${(per[last] / per[0]).toFixed(1)}× while d grew ` +
    `${ds[last] / ds[0]}×: the work is O(nnz); the growth is the cache and TLB misses on theta and the six state arrays, which the probe pays too (it grew ${(probe[last] / probe[0]).toFixed(1)}×). ` +
    'probeSparse reads only τ at coordinates past bootstrap (the update wrote their point), so a steady step walks the named coordinates once for the update and once for τ.');
  const big = ds[last], small = ds[0];
  // the smallest d against the largest, round by round (both timed within seconds of each other)
  const r1 = shares[last], r2 = over(cases[0].sm.map((a, r) => a / cases[last].sm[r]));
  targets.push(`| per non-zero at d = 10^${Math.log10(big)} ≤ 1.5 × the random-update probe | ${r1.ms.toFixed(3)}× (${r1.min.toFixed(2)}–${r1.max.toFixed(2)} over ${r1.reps} rounds; ${t(per[last])} vs ${t(probe[last])}) | ${r1.ms <= 1.5 ? 'met' : '**not met**'} |`,
    `| per non-zero at d = 10^${Math.log10(small)} ≤ 0.3 × the d = 10^${Math.log10(big)} figure | ${r2.ms.toFixed(3)}× (${r2.min.toFixed(2)}–${r2.max.toFixed(2)} over ${r2.reps} rounds; ${t(per[0])} vs ${t(per[last])}) | ${r2.ms <= 0.3 ? 'met' : '**not met**'} |`);
}

// 2. The same rows dense (n × d, zeros inactive under 'instance') and sparse: where they cross.
{
  const n = 10, d = quick ? 1e4 : 1e5;
  const densities = quick ? [1e-3, 0.1] : [1e-4, 1e-3, 1e-2, 0.03, 0.1, 0.3, 1];
  lines.push('', `### Dense against sparse rows of the same numbers (d = 10^${Math.log10(d)}, n = ${n}, sparsity 'instance')`, '',
    '| density | non-zeros | dense probe + update | sparse probeSparse + updateSparse | dense / sparse |', '|---|---|---|---|---|');
  const ratios: [number, number][] = [];
  for (const p of densities) {
    const k = Math.max(1, Math.round(p * d));
    const cycle = Array.from({ length: 4 }, () => csr(n, k, d));
    const a = new VSGDfd(new Float32Array(d), { minibatch: n, sparsity: 'instance', bootstrap: 2, threads });
    const grads = cycle.map((c) => denseOf(c, c.values, d)), shifted = cycle.map((c) => denseOf(c, shiftedOf(c), d));
    const sd = timed((step) => {
      a.probe(grads[step % 4]);
      a.update(grads[step % 4], shifted[step % 4]);
    }, 16);
    a.dispose();
    const b = new VSGDfd(new Float32Array(d), { minibatch: n, sparsity: 'instance', bootstrap: 2, threads });
    const ss = timed(sparseStep(b, cycle), 16);
    b.dispose();
    lines.push(`| ${p} | ${n * k} | ${cell(sd)} | ${cell(ss)} | ${(sd.ms / ss.ms).toFixed(2)} |`);
    ratios.push([p, sd.ms / ss.ms]);
    console.error(`density ${p}: dense ${cell(sd)}, sparse ${cell(ss)}`);
  }
  // log-log interpolation where dense / sparse crosses 1
  const at = ratios.findIndex(([, q], i) => i > 0 && q < 1 && ratios[i - 1][1] >= 1);
  if (at > 0) {
    const [[p0, q0], [p1, q1]] = [ratios[at - 1], ratios[at]];
    const cross = 10 ** (Math.log10(p0) + ((Math.log10(p1) - Math.log10(p0)) * Math.log(q0)) / (Math.log(q0) - Math.log(q1)));
    notes.push(`- Sparse rows are faster below a density of about ${cross.toFixed(2)} (log-log interpolation where dense / sparse crosses 1).`);
  } else notes.push(`- Dense / sparse did not cross 1 in this run.`);
}

// 2b. Dense rows under sparse rates while some coordinates bootstrap (those no row ever names):
// probe() patches the point the last update wrote at those coordinates only; invalidate() first
// forces the full pass it replaces.
{
  const n = 10, d = quick ? 1e4 : 1e6;
  const fractions = quick ? [0.01, 0.5] : [0, 0.001, 0.01, 0.1, 0.5, 0.9];
  lines.push('', `### Dense rows while coordinates bootstrap (d = 10^${Math.log10(d)}, n = ${n}, sparsity 'instance')`, '',
    'Coordinates that no row names keep bootstrapping; the others are named by every row.', '',
    '| never named | bootstrapping | probe + update | with a full probe pass | full / patched |', '|---|---|---|---|---|');
  const ratios: string[] = [];
  for (const f of fractions) {
    const never = Uint8Array.from({ length: d }, () => (r.uniform() < f ? 1 : 0));
    const z = new Float32Array(n * d);
    r.normals(z);
    const grads = z.map((x, k) => (never[k % d] ? 0 : x + 0.5));
    const shifted = grads.map((x) => (x === 0 ? 0 : x * 1.01 + 1e-3));
    const stats = [false, true].map((full) => {
      const o = new VSGDfd(new Float32Array(d), { minibatch: n, sparsity: 'instance', bootstrap: 2, threads, device: 'cpu' });
      const s = timed(() => {
        if (full) o.invalidate();
        o.probe(grads);
        o.update(grads, shifted);
      }, 4);
      const boot = o.state.tau.reduce((c, x) => c + (x <= 0 ? 1 : 0), 0);
      o.dispose();
      return { s, boot };
    });
    lines.push(`| ${f} | ${stats[0].boot} | ${cell(stats[0].s)} | ${cell(stats[1].s)} | ${(stats[1].s.ms / stats[0].s.ms).toFixed(2)} |`);
    ratios.push(`${(stats[1].s.ms / stats[0].s.ms).toFixed(2)}× at ${f}`);
    console.error(`bootstrapping fraction ${f}: ${cell(stats[0].s)} / full ${cell(stats[1].s)}`);
  }
  notes.push('- Dense rows under sparse rates: a coordinate that no row names keeps bootstrapping, and its probe offset depends on ' +
    "the step's rows (the mean of the samples seen and this step's). probe() takes the point the last update wrote and recomputes " +
    'it at those coordinates only (a scan of τ by lane groups, 8 or 16 lanes; rows read in a group where some lane bootstraps, and the ' +
    `group recomputed only where some lane has an active row; with none bootstrapping, no pass at all). The update leaves a group ` +
    `without an active row alone but for its next probe point. Against a full pass every step, the step was faster by ${ratios.join(', ')} (never-named fraction).`);
}

// 3. Eq. 5 reweighting: the n × n Gram matrix of the rows, O(n²d) against the O(nd) step.
{
  const d = quick ? 1e3 : 1e5, ns = quick ? [2, 8] : [1, 2, 4, 8, 16, 32, 64];
  let last = NaN;
  lines.push('', `### Orthogonal reweighting (eq. 5) against n (dense rows, d = 10^${Math.log10(d)})`, '',
    '| n | probe + update | with reweight: true | ratio |', '|---|---|---|---|');
  for (const n of ns) {
    const grads = new Float32Array(n * d), shifted = new Float32Array(n * d);
    const z = new Float32Array(n * d);
    r.normals(z);
    for (let e = 0; e < z.length; e++) [grads[e], shifted[e]] = [z[e], z[e] * 1.01 + 1e-3];
    const stats = [false, true].map((reweight) => {
      const o = new VSGDfd(new Float32Array(d), { minibatch: n, reweight, threads, device: 'cpu' });
      const s = timed(() => {
        o.probe(grads);
        o.update(grads, shifted);
      }, 12);
      o.dispose();
      return s;
    });
    lines.push(`| ${n} | ${cell(stats[0])} | ${cell(stats[1])} | ${(stats[1].ms / stats[0].ms).toFixed(2)} |`);
    console.error(`reweight n=${n}: ${cell(stats[0])} / ${cell(stats[1])}`);
    last = stats[1].ms / stats[0].ms;
  }
  notes.push(`- Reweighting builds the n × n Gram matrix of the rows, O(n²d) against the O(nd) step: at n = ${ns[ns.length - 1]} it made the step ${last.toFixed(1)}× as long.`);
}

const m = machine(root);
const busy = meter();
const doc = [
  '## Sparse rows and reweighting',
  '',
  `Command: \`npm run bench:sparse${quick ? ' -- --quick' : ''}\` (bench/sparse.ts), ${m.date}, ${(performance.now() - start) / 1000 | 0} s.`,
  `Machine: ${m.cpu}, ${m.memGiB} GiB, ${m.os}, Node ${m.node}; addon ${m.addon}, ${m.build}; threads ${threads}.`,
  `Other processes kept ${(busy * 100).toFixed(0)}% of all CPUs busy meanwhile. Median per step (min–max over repeats). vSGD-fd runs its default variant, 'signed'.`,
  '',
  '### Targets', '', 'Each ratio is the median over rounds in which every case took turns (range in brackets): the step against the probe, then the step at the smallest d against the step at the largest.', '', '| target | measured | |', '|---|---|---|',
  ...targets,
  '',
  ...lines,
  '',
  ...notes,
  '',
].join('\n');
writeFileSync(out, doc);
console.log(doc);

const page = join(root, 'BENCHMARKS.md');
if (opt.out === undefined && existsSync(page)) {
  const [open, close] = ['<!-- bench:sparse -->', '<!-- /bench:sparse -->'];
  const md = readFileSync(page, 'utf8');
  const block = `${open}\n${doc}${close}\n`;
  const a = md.indexOf(open), b = md.indexOf(close);
  writeFileSync(page, a >= 0 && b > a ? md.slice(0, a) + block + md.slice(b + close.length + 1) : `${md.trimEnd()}\n\n${block}`);
  console.error(`bench:sparse: wrote ${out} and its section of ${page}`);
}
