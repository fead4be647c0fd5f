// npm run soak [-- --quick] [--phases small,large,cycles] [--threads N] [--large-steps N] [--no-yield]
// Long runs that must keep resident memory flat and the state finite (docs/reliability.md):
//   small   VSGDfd, d = 1e3, 1e6 steps (each with its probe and shifted rows)
//   large   VSGDfd, d = 1e7, 1e4 steps
//   cycles  1e5 create / step / save / dispose cycles over every optimizer class (every 100th
//           also loads its checkpoint)
// RSS is sampled after a collection at 20 points of each phase; a phase is flat when RSS grew by
// less than 16 MiB + 2% from the first sample after a 10% warm-up to the end. --quick runs 1/100.
// Before each sample the event loop turns once: Node runs the finalizers of collected native
// objects from the loop, so a loop that never yields keeps ~0.6 KB per disposed optimizer
// (--no-yield shows it: docs/reliability.md).
import { parseArgs } from 'node:util';
import { AdaGrad, Adam, NaturalGradient, type Optimizer, SGD, VSGD, VSGDfd } from '../lib/index.ts';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    phases: { type: 'string', default: 'small,large,cycles' },
    threads: { type: 'string' },
    'large-steps': { type: 'string' },
    'no-yield': { type: 'boolean', default: false },
  },
});
const scale = opt.quick ? 0.01 : 1;
const threads = opt.threads ? Number(opt.threads) : undefined;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
if (!(globalThis as { gc?: unknown }).gc) console.log('(run with --expose-gc for exact samples: npm run soak does)');

const mib = () => process.memoryUsage().rss / 2 ** 20;
function finite(o: Optimizer): boolean {
  for (const a of [o.theta, ...Object.values(o.state)]) {
    for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return false; // NaN and ±Infinity
  }
  return true;
}

interface Outcome { phase: string; seconds: number; rss: number[]; flat: boolean; finite: boolean; note: string }

const turn = () => new Promise((resolve) => setImmediate(resolve));

// Calls work(i) for i < count and samples RSS (after gc) 20 times; check() runs at each sample.
async function soak(phase: string, count: number, work: (i: number) => void, check: () => boolean, note: () => string): Promise<Outcome> {
  const rss: number[] = [];
  let ok = true;
  const t0 = performance.now();
  const every = Math.max(1, Math.floor(count / 20));
  for (let i = 0; i < count; i++) {
    work(i);
    if ((i + 1) % every === 0 || i === count - 1) {
      ok &&= check();
      if (!opt['no-yield']) await turn();
      gc();
      rss.push(mib());
      if (process.stdout.isTTY) process.stdout.write(`\r${phase}: ${i + 1}/${count}  RSS ${rss[rss.length - 1].toFixed(0)} MiB   `);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const base = rss[Math.min(2, rss.length - 1)]; // after 10% of the run
  const grown = rss[rss.length - 1] - base;
  const flat = grown < 16 + 0.02 * base;
  const out = { phase, seconds, rss, flat, finite: ok, note: note() };
  if (process.stdout.isTTY) process.stdout.write('\r');
  console.log(`${phase}: ${count} in ${seconds.toFixed(1)} s; RSS ${rss[0].toFixed(0)} -> ${base.toFixed(0)} (10%) -> ` +
    `${rss[rss.length - 1].toFixed(0)} MiB: ${flat ? 'flat' : 'GROWING'} (${grown >= 0 ? '+' : ''}${grown.toFixed(1)} MiB); ` +
    `state ${ok ? 'finite' : 'NOT FINITE'}; ${out.note}`);
  return out;
}

// One VSGDfd on a noisy quadratic with per-coordinate curvature 1..2; the noise is a fixed table
// read at a moving offset, so that making gradients costs one pass over the rows.
async function trajectory(phase: string, d: number, steps: number): Promise<Outcome> {
  const theta = new Float32Array(d).fill(1);
  const o = new VSGDfd(theta, { minibatch: 1, threads });
  const noise = new Float32Array(d + 4099).map((_, k) => Math.sin(k * 12.9898) * 0.5);
  const curv = new Float32Array(d).map((_, i) => 1 + (i % 7) / 7);
  let shift = 0;
  const fn = (at: Float32Array, out: Float32Array) => {
    for (let i = 0; i < d; i++) out[i] = curv[i] * (at[i] - 0.25) + noise[i + shift];
  };
  let skipped = 0;
  const r = await soak(phase, steps, (i) => {
    shift = (i * 31) % 4099;
    skipped += o.step(fn).skipped;
  }, () => finite(o), () => `skipped ${skipped}; mean |theta - 0.25| ${(theta.reduce((s, x) => s + Math.abs(x - 0.25), 0) / d).toExponential(2)}`);
  o.dispose();
  return r;
}

function cycles(count: number): Promise<Outcome> {
  const classes = [VSGDfd, VSGD, SGD, AdaGrad, NaturalGradient, Adam] as unknown as (new (t: Float32Array, o?: object) => Optimizer)[];
  const loaders = [VSGDfd, VSGD, SGD, AdaGrad, NaturalGradient, Adam] as unknown as { load(t: Float32Array, b: Uint8Array): Optimizer }[];
  const fn = (at: Float32Array, out: Float32Array, c?: Float32Array) => {
    for (let k = 0; k < out.length; k++) out[k] = at[k % at.length] - 0.5;
    c?.fill(1);
  };
  let last: Optimizer | undefined;
  return soak('cycles', count, (i) => {
    const k = i % classes.length;
    const o = new classes[k](new Float32Array(100).fill(1), { threads });
    o.step(fn);
    const bytes = o.save();
    if (i % 100 === 0) {
      const copy = loaders[k].load(new Float32Array(100), bytes);
      copy.dispose();
    }
    o.dispose();
    last = o;
  }, () => last?.device === 'disposed', () => 'each: construct, step, save, dispose');
}

async function main() {
  const phases = new Set(opt.phases.split(','));
  const results: Outcome[] = [];
  console.log(`soak${opt.quick ? ' (quick: 1/100 of the counts)' : ''}; threads ${threads ?? 'all'}; ` +
    `${opt['no-yield'] ? 'never yielding to the event loop' : 'the event loop turns at each sample'}; node ${process.version}`);
  if (phases.has('small')) results.push(await trajectory('small d=1e3', 1000, Math.round(1e6 * scale)));
  const largeSteps = opt['large-steps'] ? Number(opt['large-steps']) : Math.max(20, Math.round(1e4 * scale));
  if (phases.has('large')) results.push(await trajectory('large d=1e7', 10_000_000, largeSteps));
  if (phases.has('cycles')) results.push(await cycles(Math.round(1e5 * scale)));
  const bad = results.filter((r) => !r.flat || !r.finite);
  console.log(JSON.stringify(results.map(({ phase, seconds, rss, flat, finite: f }) => ({ phase, seconds: +seconds.toFixed(1), rssMiB: rss.map((x) => +x.toFixed(1)), flat, finite: f }))));
  console.log(bad.length ? `SOAK FAIL: ${bad.map((r) => r.phase).join(', ')}` : 'SOAK PASS');
  process.exitCode = bad.length ? 1 : 0;
}

void main();
