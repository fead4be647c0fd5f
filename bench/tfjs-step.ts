// npm run bench:tfjs [-- --reps 10 --steps 5 --warm 12 --backends wasm,cpu --out report/tfjs-step.json]
// Where the time of one training step of the MNIST MLP (784-256-128-10, d = 235,146, batch 128)
// goes, with vsgd-fd/tfjs's VSGDfdOptimizer against tfjs's own Adam on the same backend. The
// optimizers take turns (`steps` steps each, `reps` rounds, the order rotated every round) on their
// own copy of the model and the same batch, so load on the machine hits them alike; medians over
// all steps. tfjs's minimize() is computeGradients() + applyGradients(): the second is its
// optimizer step. vSGD-fd's is gather + write + update (lastStep.ms); its probe evaluation (the
// gradient at θ+δ) is reported on its own. With 8 microbatches the gradients columns are the sums
// over the 8 slices of 16 samples.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../lib/data/mnist.ts';
import { backends } from '../lib/index.ts';
import { buildModel, type TfBackend, useBackend } from '../lib/experiments/tfjs-mnist.ts';
import { AdamOptimizer, VSGDfdOptimizer } from '../lib/tfjs/index.ts';
import { othersMeter } from './timing.ts';

const { values: opt } = parseArgs({
  options: {
    reps: { type: 'string', default: '10' },
    steps: { type: 'string', default: '5' },
    warm: { type: 'string', default: '12' }, // past vSGD-fd's bootstrap
    backends: { type: 'string', default: 'wasm,cpu' },
    out: { type: 'string', default: 'report/tfjs-step.json' },
  },
});
const REPS = Number(opt.reps), STEPS = Number(opt.steps), WARM = Number(opt.warm), BATCH = 128;
const PARTS = ['evaluate', 'probeEvaluate', 'gather', 'write', 'update', 'optimizer'] as const;
type Part = (typeof PARTS)[number];

interface Contender { name: string; make: () => tf.Optimizer; ours: boolean; split?: boolean }
const CONTENDERS: Contender[] = [
  { name: 'tfjs Adam', make: () => tf.train.adam(1e-3), ours: false },
  { name: 'vSGD-fd', make: () => new VSGDfdOptimizer(), ours: true },
  { name: 'vSGD-fd, 1 thread', make: () => new VSGDfdOptimizer({ threads: 1 }), ours: true },
  { name: 'vsgd-fd Adam, 1 thread', make: () => new AdamOptimizer({ threads: 1 }), ours: true },
  { name: 'vSGD-fd, 8 microbatches', make: () => new VSGDfdOptimizer({ microbatches: 8 }), ours: true, split: true },
];

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function bench(backend: TfBackend) {
  await useBackend(backend);
  const m = loadMnist({ train: BATCH, test: 0 });
  const xs = tf.tensor2d(m.train.images, [BATCH, 784]);
  const ys = tf.oneHot(tf.tensor1d(m.train.labels, 'int32'), 10).toFloat();
  const runs = CONTENDERS.map((c) => {
    const model = buildModel('mlp', 1);
    const o = c.make();
    model.compile({ optimizer: o, loss: 'categoricalCrossentropy' });
    if (c.split) (o as VSGDfdOptimizer).attach(model);
    const times = Object.fromEntries(PARTS.map((p) => [p, [] as number[]])) as Record<Part, number[]>;
    let timing = false;
    if (!c.ours) {
      const wrap = <A extends unknown[], R>(fn: (...a: A) => R, into: number[]) => (...a: A): R => {
        const t = performance.now();
        const r = fn(...a);
        if (timing) into.push(performance.now() - t);
        return r;
      };
      o.computeGradients = wrap(o.computeGradients.bind(o), times.evaluate);
      o.applyGradients = wrap(o.applyGradients.bind(o), times.optimizer);
    }
    const step = async (n: number) => {
      for (let k = 0; k < n; k++) {
        await model.trainOnBatch(xs, ys);
        const last = c.ours ? (o as VSGDfdOptimizer).lastStep : null;
        if (timing && last) {
          for (const p of ['evaluate', 'probeEvaluate', 'gather', 'write', 'update'] as const) times[p].push(last.ms[p]);
          times.optimizer.push(last.ms.gather + last.ms.write + last.ms.update);
        }
      }
    };
    return { c, model, o, times, step, setTiming: (on: boolean) => (timing = on) };
  });
  for (const r of runs) await r.step(WARM); // tfjs's kernels warm too
  for (let rep = 0; rep < REPS; rep++) {
    for (let j = 0; j < runs.length; j++) {
      const r = runs[(j + rep) % runs.length];
      r.setTiming(true);
      await r.step(STEPS);
      r.setTiming(false);
    }
  }
  const rows = runs.map((r) => ({ name: r.c.name, ...Object.fromEntries(PARTS.map((p) => [p, median(r.times[p])])) }) as { name: string } & Record<Part, number>);
  const blank = sparseness(m.train.images, ((runs[1].o as VSGDfdOptimizer).native?.state as { tau?: Float32Array } | undefined)?.tau);
  for (const r of runs) (r.model.dispose(), r.o.dispose());
  tf.dispose([xs, ys]);
  return { backend, rows, blank };
}

// What 'instance' sparsity makes of this batch: pixels 0 in every digit (their weights never get a
// row), and vSGD-fd's coordinates still bootstrapping after the run, alone and by lane groups (16
// lanes with the AVX-512 kernels, else 8).
const LANES = backends().cpu.isa === 'avx512' ? 16 : 8;
function sparseness(images: Float32Array | Uint8Array, tau: Float32Array | undefined) {
  let pixels = 0;
  for (let p = 0; p < 784; p++) {
    let zero = true;
    for (let i = 0; i < BATCH && zero; i++) zero = images[i * 784 + p] === 0;
    pixels += zero ? 1 : 0;
  }
  let boot = 0, groups = 0, bootGroups = 0;
  if (tau) {
    for (let i = 0; i < tau.length; i += LANES, groups++) {
      let any = false;
      for (let k = i; k < Math.min(i + LANES, tau.length); k++) if (tau[k] <= 0) (boot++, (any = true));
      bootGroups += any ? 1 : 0;
    }
  }
  return { pixels, boot, d: tau?.length ?? 0, groups, bootGroups, lanes: LANES };
}

async function main(): Promise<void> {
  const start = performance.now();
  const others = othersMeter();
  const results = [];
  for (const b of (opt.backends as string).split(',') as TfBackend[]) results.push(await bench(b));
  const busy = others();
  const lines = [`steps of the MNIST MLP (d = 235,146, batch ${BATCH}); medians of ${REPS}×${STEPS} steps each, milliseconds; ` +
    `other processes kept ${(100 * busy).toFixed(0)} % of the CPUs busy meanwhile`, ''];
  for (const { backend, rows, blank } of results) {
    const adam = rows[0].optimizer;
    lines.push(`${backend} backend:`, '| optimizer | gradients at θ | gradients at θ+δ | optimizer step | of which gather / write / update | step ÷ tfjs Adam\'s |', '|---|---|---|---|---|---|');
    for (const r of rows) {
      const split = r.name === 'tfjs Adam' ? '–' : `${r.gather.toFixed(3)} / ${r.write.toFixed(3)} / ${r.update.toFixed(3)}`;
      lines.push(`| ${r.name} | ${r.evaluate.toFixed(2)} | ${r.probeEvaluate ? r.probeEvaluate.toFixed(2) : '–'} | ${r.optimizer.toFixed(3)} | ${split} | ${(r.optimizer / adam).toFixed(2)} |`);
    }
    const z = blank;
    lines.push(`${z.pixels} of 784 pixels are 0 in every digit of the batch; after the run vSGD-fd has ${z.boot} of ${z.d} coordinates ` +
      `(${((100 * z.boot) / z.d).toFixed(0)} %) bootstrapping, in ${z.bootGroups} of ${z.groups} groups of ${LANES} (${((100 * z.bootGroups) / z.groups).toFixed(0)} %)`, '');
  }
  const seconds = (performance.now() - start) / 1000;
  lines.push(`${seconds.toFixed(0)} s`);
  console.log(lines.join('\n'));
  fs.mkdirSync(path.dirname(opt.out as string), { recursive: true });
  fs.writeFileSync(opt.out as string, `${JSON.stringify({ command: `npm run bench:tfjs -- ${process.argv.slice(2).join(' ')}`.trim(), reps: REPS, steps: STEPS, batch: BATCH, seconds, othersBusy: busy, results }, null, 1)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
