// npm run bench [-- --quick] [--out DIR] [--sizes 10,12,..] [--key 24] [--max-gib 12] [--no-python] [--no-tfjs]
//   [--wait-idle SECONDS] [--report-only]   (sizes and key are log2 d; --report-only rewrites the
//   page and chart from DIR/bench/results.json without measuring)
// Runs every case side by side in one process (the python peers in child processes) and writes
// DIR/BENCHMARKS.md, DIR/bench/d-sweep.png and DIR/bench/results.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { baseline, fdStep, fillRows, type Result, rounds, triad, tsLoop, writesEta } from './cases.ts';
import { png } from './chart.ts';
import { type PeerRun, runPeer } from './peers.ts';
import { machine, report, sweepSeries } from './report.ts';
import { adamStep, type TfBackend, tfVersion, useBackend, wasmSimd } from './tfjs.ts';
import { type Budget, gc, othersBusy, othersMeter } from './timing.ts';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    sizes: { type: 'string' },
    key: { type: 'string' },
    'max-gib': { type: 'string', default: '12' },
    'no-python': { type: 'boolean', default: false },
    'no-tfjs': { type: 'boolean', default: false },
    'wait-idle': { type: 'string', default: '0' },
    'report-only': { type: 'boolean', default: false },
  },
});

const quick = opt.quick as boolean;
const root = resolve(__dirname, '..');
const outDir = resolve((opt.out as string | undefined) ?? (quick ? join(tmpdir(), 'vsgd-bench-quick') : root));
// every power of two up to 2^20, then every other one (the large sizes dominate the run time)
const logs = (opt.sizes as string | undefined)?.split(',').map(Number) ?? (quick ? [10, 12, 14] : [...range(10, 20), 22, 24, 26]);
const keyLog = Number(opt.key ?? (quick ? logs[logs.length - 1] : 24));
const KEY = 2 ** keyLog;
const NS = [1, 10, 32];
const ROUNDS = quick ? 3 : 11;  // of the targets' cases taking turns (cases.ts: rounds)
const MAX_BYTES = Number(opt['max-gib']) * 2 ** 30;
const ARRAY_LIMIT = 2 ** 32;  // Node 20's largest ArrayBuffer, bytes
const CORES = cpus().length;
// A peer whose call takes longer than this is measured again only at the key size.
const PEER_CAP_MS = 2000;
const capped = new Map<string, string>();

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

// Short calls are batched to >= 20 ms; the largest sizes get three repeats, the key size more
// (three too when one call takes over 1.5 s).
function budget(d: number): Budget {
  if (quick) return { ms: 100, minReps: 3, maxReps: 5, batchMs: 5 };
  if (d === KEY) return { ms: 4000, minReps: 5, maxReps: 15, batchMs: 20, slowMs: 1500 };
  if (d > KEY) return { ms: 0, minReps: 3, maxReps: 3, batchMs: 20 };
  return { ms: 1000, minReps: 3, maxReps: 15, batchMs: 20 };
}

const results: Result[] = [];
function record(r: Result): void {
  results.push(r);
  const s = r.stat;
  const what = `${r.case}${r.n > 1 || r.case.startsWith('vsgdfd') || r.case === 'ts-loop' ? ` n=${r.n}` : ''}${r.threads ? ` threads=${r.threads}` : ''}`;
  const round = (q: Record<string, number>) => Object.entries(q).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
  const line = s ? `${fmt(s.ms)} [${fmt(s.min)} - ${fmt(s.max)}] x${s.reps}` : r.rounds ? r.rounds.map(round).join('\n    ') : `skipped: ${r.skipped}`;
  process.stderr.write(`  d=2^${Math.log2(r.d)} ${what}: ${line}\n`);
}
const fmt = (ms: number) => (ms < 1 ? `${(ms * 1e3).toFixed(1)} us` : `${ms.toFixed(2)} ms`);

/** Largest n of NS whose rows fit: one array under Node's limit, all rows and state under --max-gib
 * and under 80% of the free memory. */
function fits(d: number, n: number): string | undefined {
  const rows = 4 * n * d;
  const total = 2 * rows + 4 * d * 8;
  if (rows > ARRAY_LIMIT) return `${n} rows of d = 2^${Math.log2(d)} exceed Node 20's 4 GiB ArrayBuffer limit`;
  if (total > MAX_BYTES) return `needs ${(total / 2 ** 30).toFixed(1)} GiB, over --max-gib ${opt['max-gib']}`;
  if (total > 0.8 * freemem()) return `needs ${(total / 2 ** 30).toFixed(1)} GiB, more than 80% of free memory`;
  return undefined;
}

async function tfjs(d: number, grads: Float32Array, b: Budget): Promise<void> {
  for (const be of ['cpu', 'wasm'] as TfBackend[]) {
    const r: Result = { case: `tfjs-${be}`, d, n: 1, threads: 1, bytes: 28 * d };
    const cap = capped.get(r.case);
    if (cap && d !== KEY) {
      record({ ...r, skipped: cap });
      continue;
    }
    try {
      await useBackend(be);
      r.stat = adamStep(grads.subarray(0, d), cap ? { ...b, minReps: 3, maxReps: 3 } : b);
      if (r.stat.ms > PEER_CAP_MS && !cap) {
        capped.set(r.case, `one call took ${(r.stat.ms / 1e3).toFixed(1)} s at d = 2^${Math.log2(d)}; ` +
          `larger sizes are measured only at the key size 2^${keyLog} (time cap)`);
      }
    } catch (e) {
      r.skipped = `failed: ${(e as Error).message}`;
    }
    record(r);
    gc();
  }
}

async function main(): Promise<void> {
  // optionally wait for other work to finish: it distorts the multi-threaded cases
  const until = Date.now() + 1000 * Number(opt['wait-idle']);
  let busyStart = othersBusy();
  while (busyStart > 0.1 && Date.now() < until) busyStart = othersBusy(5000);
  const start = Date.now();
  const meta = machine(root);
  process.stderr.write(`bench: d = 2^${logs.join(', 2^')}; key d = 2^${keyLog}; writing to ${outDir}\n`);
  const eta = writesEta();
  const others = othersMeter();
  for (const lg of logs) {
    const d = 2 ** lg;
    const b = budget(d);
    const nmax = Math.max(...NS.filter((n) => !fits(d, n)), 0);
    if (!nmax) {
      process.stderr.write(`  d=2^${lg}: skipped, ${fits(d, 1)}\n`);
      continue;
    }
    const grads = new Float32Array(nmax * d), shifted = new Float32Array(nmax * d);
    fillRows(grads, d, 1);
    fillRows(shifted, d, 2);
    record(triad(d, 0, b));
    record(baseline('sgd', grads, d, 0, b));
    record(baseline('adam', grads, d, 0, b));
    for (const n of NS) {
      const why = fits(d, n);
      record(why ? { case: 'vsgdfd', d, n, threads: 0, bytes: 0, skipped: why } : fdStep(d, n, grads, shifted, 'dense', 0, b));
    }
    if (!opt['no-tfjs']) await tfjs(d, grads, b);
    if (d === KEY) {
      for (const n of [1, 10].filter((n) => n <= nmax)) record(tsLoop(d, n, grads, shifted, b));
      record(fdStep(d, 10, grads, shifted, 'every4', 0, b));
      for (const n of [1, 10]) record(fdStep(d, n, grads, shifted, 'signed', 0, b));
      // the targets' ratios, from cases taking turns (cases.ts: rounds)
      process.stderr.write(`  d=2^${lg}: the targets' cases taking turns, ${ROUNDS} rounds ...\n`);
      record(rounds(d, grads, shifted, ROUNDS));
      // instance sparsity on rows where 90% of the entries are zero
      fillRows(grads, d, 1, 0.1);
      fillRows(shifted, d, 2, 0.1);
      record(fdStep(d, 10, grads, shifted, 'sparse', 0, b));
      fillRows(grads, d, 1);
      fillRows(shifted, d, 2);
      // thread scaling: one thread against the default (all cores) measured above
      if (CORES > 1) {
        record(triad(d, 1, b));
        record(baseline('sgd', grads, d, 1, b));
        record(baseline('adam', grads, d, 1, b));
        for (const n of [1, 10]) record(fdStep(d, n, grads, shifted, 'dense', 1, b));
      }
    }
    gc();
  }
  const busyDuring = others();
  const peers: PeerRun[] = [];
  if (!opt['no-python']) {
    for (const impl of ['torch', 'numpy'] as const) {
      process.stderr.write(`  ${impl} Adam (python) ...\n`);
      const p = runPeer(impl, logs.map((l) => 2 ** l), budget(1), CORES);
      p.results.forEach(record);
      if (p.missing) process.stderr.write(`  ${impl}: ${p.missing}\n`);
      peers.push(p);
    }
  }
  const wallS = (Date.now() - start) / 1000;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const info = { ...meta, busyStart, busyDuring, busyEnd: othersBusy(), command, wallS, tfjs: opt['no-tfjs'] ? undefined : tfVersion(), wasmSimd: opt['no-tfjs'] ? undefined : wasmSimd(), peers, writesEta: eta, key: KEY, sizes: logs.map((l) => 2 ** l), cores: CORES };
  write(info, results);
  process.stderr.write(`bench: ${wallS.toFixed(0)} s; wrote ${join(outDir, 'BENCHMARKS.md')}\n`);
}

function write(info: Parameters<typeof report>[0], rs: Result[]): void {
  mkdirSync(join(outDir, 'bench'), { recursive: true });
  writeFileSync(join(outDir, 'bench', 'results.json'), JSON.stringify({ info, results: rs }, null, 1) + '\n');
  writeFileSync(join(outDir, 'bench', 'd-sweep.png'), png(sweepSeries(rs), `time per coordinate, ${info.cpu}`));
  // the sparse benchmarks (npm run bench:sparse) and the GPU check (bench/gpu/check.sh, on a machine
  // with a GPU) keep their own sections, carried over here
  let extra = '';
  for (const [tag, file] of [['bench:sparse', 'SPARSE.md'], ['bench:gpu', join('gpu', 'GPU.md')]]) {
    try {
      extra += `\n<!-- ${tag} -->\n${readFileSync(join(outDir, 'bench', file), 'utf8').trim()}\n<!-- /${tag} -->\n`;
    } catch {
      // not run yet
    }
  }
  writeFileSync(join(outDir, 'BENCHMARKS.md'), report(info, rs) + extra);
}

if (opt['report-only']) {
  const saved = JSON.parse(readFileSync(join(outDir, 'bench', 'results.json'), 'utf8'));
  write(saved.info, saved.results);
} else main().catch((e) => {
  console.error(e);
  process.exit(1);
});
