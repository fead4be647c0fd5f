// npm run bench:mpi [-- --quick] [--out FILE] [--section 3]
// Data-parallel steps under MPI (docs/distributed.md): jobs of 2 ranks started by mpirun against
// one process, side by side in one run. Dense cases are vSGD-fd (variant 'paper', sparsity
// 'none') with curvature on every step, past bootstrap (probe() is then local, so a step is one
// update()); sparse cases vSGD-fd's defaults ('signed', 'instance'), probeSparse + updateSparse
// on random rows.
//   1. what a step sends, and the reduction's time against the fused pass, d = 2^16 … 2^24: through
//      shared memory (the way of ranks on one machine) and by MPI's all-reduce (several machines)
//   2. the same rows per step on 2 ranks × 1 thread and on 1 rank × 2 threads, d = 2^22
//   3. weak scaling: 2 ranks × 1 thread with n rows each against 1 rank × 1 thread with n rows,
//      reducing through shared memory and by the all-reduce
//   4. sparse rows: reduced over the union of the ranks' coordinates or over all d
// Writes FILE (default bench/MPI.md) and prints it. Each case runs in its own processes:
// `--case JSON` is one of them (what this script starts, under mpirun or alone).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type SparseRows, VSGDfd } from '../lib/index.ts';
import { Communicator, launched, mpiStatus } from '../lib/mpi.ts';
import { DENSE_AT } from '../lib/optimizers/distributed.ts';
import { rng } from '../lib/problems/random.ts';
import { machine } from './report.ts';
import { gc, othersBusy, summary } from './timing.ts';

const { values: opt } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, case: { type: 'string' }, section: { type: 'string' } } });
/** --section 3 (or 1,3): only those sections */
const want = (k: number) => !opt.section || String(opt.section).split(',').includes(String(k));
const root = resolve(__dirname, '..');

interface Case {
  d: number;
  /** rows per rank */
  n: number;
  threads: number;
  reps: number;
  /** sparse rows: non-zeros per row, and the share of d from which they go the dense way */
  nnz?: number;
  denseAt?: number;
  /** Open MPI's non-blocking all-reduce algorithm (0: its own choice; the addon sets 1, the ring) */
  algorithm?: number;
  /** false: VSGD_FD_MPI_SHARED=0, the all-reduce instead of shared memory */
  shared?: boolean;
}
interface Result { step: Ms; reduce?: Ms; floats?: number }
type Ms = { ms: number; min: number; max: number };

// ---- One case, in this process (one rank of a job, or alone).
function runCase(c: Case): Result | null {
  const mpi = launched();
  const rank = mpi ? mpiStatus().rank : 0;
  const r = rng(1000 + rank);
  const theta = Float32Array.from({ length: c.d }, () => r.uniform() - 0.5);
  // dense: the paper's method with dense rates, as bench/index.ts times it; sparse: the defaults
  const how = c.nnz ? { sparsity: 'instance' as const } : { variant: 'paper' as const, sparsity: 'none' as const };
  const o = new VSGDfd(theta, { bootstrap: 1, threads: c.threads, minibatch: c.n, ...how, ...(mpi ? { comm: 'mpi' as const } : {}) });
  const comm = mpi ? new Communicator('Bench', 1) : null;
  let step: () => number | undefined;
  if (c.nnz) {
    const cycle = Array.from({ length: 8 }, () => sparseRows(r, c.n, c.nnz as number, c.d));
    let k = 0;
    step = () => {
      const rows = cycle[k++ % cycle.length];
      o.probeSparse(rows);
      return o.updateSparse({ ...rows, shifted: rows.values.map((v) => v * 1.01 + 1e-3) }).reduced;
    };
  } else {
    const grads = Float32Array.from({ length: c.n * c.d }, () => r.uniform() - 0.5);
    const shifted = grads.map((x) => x * 1.01 + 1e-3);
    step = () => {
      o.probe(o.bootstrapping ? grads : undefined);
      return o.update(grads, shifted).reduced;
    };
  }
  for (let k = 0; k < 3; k++) step(); // bootstrap (one sample), page faults, buffers
  gc();
  const times: number[] = [];
  let floats: number | undefined;
  for (let k = 0; k < c.reps; k++) {
    comm?.barrier(); // every rank starts together: the time is the step's, not the ranks' skew
    const t0 = performance.now();
    floats = step();
    times.push(performance.now() - t0);
  }
  let reduce: Ms | undefined;
  if (comm && floats) {
    const count = floats;
    const buf = new Float32Array(count);
    const time = (fn: () => void) => {
      const rt: number[] = [];
      for (let k = 0; k < c.reps + 1; k++) {
        comm.barrier();
        const t0 = performance.now();
        fn();
        if (k) rt.push(performance.now() - t0); // the first touches the pages
      }
      return summary(rt);
    };
    reduce = time(() => comm.reduce(buf, count));
  }
  // the slowest rank's times are the job's
  const mine = summary(times);
  const all = comm ? comm.gather(Float64Array.from([mine.ms, mine.min, mine.max])) : [mine.ms, mine.min, mine.max];
  let slow = 0;
  for (let k = 3; k < all.length; k += 3) if (all[k] > all[slow]) slow = k;
  o.dispose();
  comm?.dispose();
  if (rank !== 0) return null;
  return { step: { ms: all[slow], min: all[slow + 1], max: all[slow + 2] }, ...(reduce ? { reduce, floats } : {}) };
}

/** n rows with k sorted distinct random indices each in [0, d) */
function sparseRows(r: ReturnType<typeof rng>, n: number, k: number, d: number): SparseRows {
  const offsets = new Int32Array(n + 1), indices = new Int32Array(n * k), values = new Float32Array(n * k);
  for (let j = 0; j < n; j++) {
    const row = new Set<number>();
    while (row.size < k) row.add(Math.floor(r.uniform() * d));
    indices.set([...row].sort((a, b) => a - b), j * k);
    offsets[j + 1] = (j + 1) * k;
  }
  for (let e = 0; e < values.length; e++) values[e] = (r.uniform() < 0.5 ? -1 : 1) * (0.1 + r.uniform());
  return { offsets, indices, values };
}

if (opt.case) {
  const out = runCase(JSON.parse(opt.case as string) as Case);
  if (out) console.log(`RESULT ${JSON.stringify(out)}`);
} else {
  main();
}

// ---- The whole benchmark: every case in fresh processes, one after the other.
function spawnCase(c: Case, ranks: number): Result {
  const node = [process.execPath, '--expose-gc', '--import', 'tsx', join(root, 'bench', 'mpi.ts'), '--case', JSON.stringify(c)];
  const env = {
    ...process.env,
    ...(c.denseAt !== undefined ? { VSGD_FD_MPI_DENSE_AT: String(c.denseAt) } : {}),
    ...(c.algorithm !== undefined ? { OMPI_MCA_coll_libnbc_iallreduce_algorithm: String(c.algorithm) } : {}),
    ...(c.shared === false ? { VSGD_FD_MPI_SHARED: '0' } : {}),
  };
  const cmd = ranks > 1 ? ['mpirun', '--allow-run-as-root', '--oversubscribe', '--bind-to', 'none', '-np', String(ranks), ...node] : node;
  const p = spawnSync(cmd[0], cmd.slice(1), { cwd: root, encoding: 'utf8', env, maxBuffer: 1 << 24 });
  const line = p.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (p.status !== 0 || !line) throw new Error(`case ${JSON.stringify(c)} on ${ranks} rank(s) failed:\n${p.stdout}\n${p.stderr}`);
  return JSON.parse(line.slice(7)) as Result;
}

function main(): void {
  const quick = opt.quick as boolean;
  const out = resolve((opt.out as string | undefined) ?? join(root, 'bench', 'MPI.md'));
  const reps = quick ? 3 : 9;
  const start = performance.now();
  const busyStart = othersBusy();
  const m = machine(root);
  const f = (x: number, p = 2) => x.toFixed(p);
  const ms = (s: Ms) => `${f(s.ms)} (${f(s.min)}–${f(s.max)})`;
  const lines: string[] = [];
  const log = (s: string) => {
    lines.push(s);
    console.error(s);
  };
  const p2 = (d: number) => `2^${Math.log2(d)}`;

  if (want(1)) {
    log('### 1. What a step sends, and the reduction against the fused pass');
    log('');
    log('vSGD-fd (variant \'paper\', sparsity \'none\'), dense rows, curvature every step. 2 ranks × 1 thread with 1 row each; "fused pass": one process, 1 thread, both rows. ' +
      'MPI step, shared memory (what ranks on one machine do): each rank writes its sums, and the update adds every rank\'s up as it loads them, so the reduction has no time of its own. ' +
      'All-reduce (what ranks on several machines do): the sum over the ranks of what the step sends, alone (ms per step, median (min–max) over the repeats), with the ring ' +
      'the addon asks Open MPI for and with Open MPI\'s own choice of algorithm, and the whole MPI step with the ring.');
    log('');
    log('| d | floats sent per step | MB | fused pass, ms | MPI step, shared memory, ms | MPI step / fused | reduction, all-reduce, ms | reduction / fused | all-reduce, Open MPI\'s choice, ms | MPI step, all-reduce, ms |');
    log('|---|---|---|---|---|---|---|---|---|---|');
    for (const e of quick ? [16, 18, 20] : [16, 18, 20, 22, 24]) {
      const d = 2 ** e;
      const one = spawnCase({ d, n: 2, threads: 1, reps }, 1);
      const two = spawnCase({ d, n: 1, threads: 1, reps }, 2);
      const own = spawnCase({ d, n: 1, threads: 1, reps, algorithm: 0 }, 2);
      const ring = spawnCase({ d, n: 1, threads: 1, reps, shared: false }, 2);
      const floats = two.floats as number;
      const red = two.reduce as Ms;
      log(`| ${p2(d)} | ${floats} (${f(floats / d, 1)}·d) | ${f((floats * 4) / 2 ** 20, 1)} | ${ms(one.step)} | ${ms(two.step)} | ${f(two.step.ms / one.step.ms)} | ` +
        `${ms(red)} | ${f(red.ms / one.step.ms)} | ${ms(own.reduce as Ms)} | ${ms(ring.step)} |`);
    }

  }
  const D = quick ? 2 ** 18 : 2 ** 22;
  if (want(2)) {
    log('');
    log(`### 2. The same rows per step: 2 ranks × 1 thread against 1 rank × 2 threads (d = ${p2(D)})`);
    log('');
    log('| rows per step | 1 rank × 2 threads, ms | 2 ranks × 1 thread, ms | ratio |');
    log('|---|---|---|---|');
    for (const N of [2, 8, 32]) {
      const one = spawnCase({ d: D, n: N, threads: 2, reps }, 1);
      const two = spawnCase({ d: D, n: N / 2, threads: 1, reps }, 2);
      log(`| ${N} | ${ms(one.step)} | ${ms(two.step)} | ${f(two.step.ms / one.step.ms)} |`);
    }

  }
  if (want(3)) {
    log('');
    log(`### 3. Weak scaling: 2 ranks × 1 thread with n rows each against 1 rank × 1 thread with n rows (d = ${p2(D)})`);
    log('');
    log('Target: ≤ 1.25 (twice the rows in at most 1.25× the time).');
    log('');
    log('| n per rank | 1 rank × 1 thread, ms | 2 ranks × 1 thread, shared memory, ms | ratio | 2 ranks × 1 thread, all-reduce, ms | ratio |');
    log('|---|---|---|---|---|---|');
    for (const n of [1, 4, 16]) {
      const one = spawnCase({ d: D, n, threads: 1, reps }, 1);
      const two = spawnCase({ d: D, n, threads: 1, reps }, 2);
      const ring = spawnCase({ d: D, n, threads: 1, reps, shared: false }, 2);
      log(`| ${n} | ${ms(one.step)} | ${ms(two.step)} | ${f(two.step.ms / one.step.ms)} | ${ms(ring.step)} | ${f(ring.step.ms / one.step.ms)} |`);
    }

  }
  const S = quick ? 2 ** 16 : 2 ** 20, n = 16;
  if (want(4)) {
    log('');
    log(`### 4. Sparse rows: the union of the ranks' coordinates against all d (d = ${p2(S)}, ${n} rows per rank, 2 ranks)`);
    log('');
    log('vSGD-fd\'s defaults (variant \'signed\', sparsity \'instance\'), probeSparse + updateSparse per step. "union": the ranks gather their coordinates and reduce over them; "all d": they reduce over every coordinate. ' +
      `The library goes the dense way from a share of d of ${DENSE_AT} (non-zeros of all ranks / d; VSGD_FD_MPI_DENSE_AT).`);
    log('');
    log('| non-zeros per row | non-zeros of all ranks / d | union, ms | floats | all d, ms | floats | all d / union |');
    log('|---|---|---|---|---|---|---|');
    for (const share of quick ? [0.01, 0.1, 0.5] : [0.002, 0.01, 0.05, 0.1, 0.25, 0.5, 1]) {
      const nnz = Math.max(1, Math.round((share * S) / (2 * n)));
      const union = spawnCase({ d: S, n, threads: 1, reps, nnz, denseAt: 1e9 }, 2);
      const dense = spawnCase({ d: S, n, threads: 1, reps, nnz, denseAt: 0 }, 2);
      log(`| ${nnz} | ${f((2 * n * nnz) / S, 3)} | ${ms(union.step)} | ${union.floats} | ${ms(dense.step)} | ${dense.floats} | ${f(dense.step.ms / union.step.ms)} |`);
    }

  }
  const busyEnd = othersBusy();
  const head = [
    '## Data-parallel steps under MPI',
    '',
    `\`npm run bench:mpi${quick ? ' -- --quick' : ''}\`, ${m.date}: ${m.cpu}, ${m.memGiB} GiB, ${m.os}, Node ${m.node}, vsgd-fd ${m.version}, ${mpiStatus().compiled ? 'MPI addon built' : 'no MPI addon'}; ` +
      `ranks started by \`mpirun --oversubscribe --bind-to none\`. Other processes kept ${Math.round(100 * busyStart)}% of the CPUs busy before the run ` +
      `and ${Math.round(100 * busyEnd)}% after it; ${f((performance.now() - start) / 1000, 0)} s in all. Each case ran in fresh processes, ${reps} repeats, ` +
      'every rank starting each step together (a barrier); an MPI time is the slower rank\'s median.',
    '',
  ];
  const doc = `${[...head, ...lines].join('\n')}\n`;
  writeFileSync(out, doc);
  console.log(doc);
}
