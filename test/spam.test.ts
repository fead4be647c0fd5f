// The SpamAssassin workload: a deterministic loader and split, a short vSGD-fd run that clearly
// beats chance, the dense paths running, and the shape of `vsgd-fd train spam --json`.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { comparisonMarkdown, comparisonPng, evaluate, type SeededResult, settings, type StudyResult, study, sweepPng, sweepTable, train, verdict } from '../lib/experiments/spam.ts';
import { featurize, fnv1a, loadSpam } from '../lib/problems/spam.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

test('FNV-1a matches the published test vectors', (t) => {
  t.is(fnv1a(''), 0x811c9dc5);
  t.is(fnv1a('a'), 0xe40c292c);
  t.is(fnv1a('foobar'), 0xbf9cf968);
});

test('a row: sorted unique hashed tokens, unit norm, the bias last', (t) => {
  const r = featurize('Free FREE money !!! x re: money', 8);
  const bits = (s: string) => fnv1a(s) & 255;
  t.deepEqual([...r.indices], [...new Set(['free', 'money', '!!!', 're'].map(bits))].sort((a, b) => a - b).concat(256));
  t.is(r.values[r.values.length - 1], 1);
  const norm = r.values.subarray(0, -1).reduce((s, v) => s + v * v, 0);
  t.true(Math.abs(norm - 1) < 1e-6);
  const log = featurize('money money money', 8, 'log');
  t.deepEqual([...log.values], [1, 1]); // one feature, normalized, and the bias
});

test('the loader and the 80/20 split are deterministic', (t) => {
  const a = loadSpam({ bits: 12 });
  const b = loadSpam({ bits: 12 });
  t.is(a.d, 4097);
  t.is(a.train.labels.length, 4837);
  t.is(a.test.labels.length, 1209);
  t.is(a.train.labels.reduce((s, y) => s + y, 0) + a.test.labels.reduce((s, y) => s + y, 0), 1896);
  for (const k of ['offsets', 'indices', 'values', 'labels'] as const) {
    t.deepEqual(a.train[k], b.train[k]);
    t.deepEqual(a.test[k], b.test[k]);
  }
  const { offsets, indices } = a.train;
  for (let j = 0; j < a.train.labels.length; j++) {
    for (let k = offsets[j] + 1; k < offsets[j + 1]; k++) if (!(indices[k] > indices[k - 1])) return t.fail(`row ${j} is not sorted and unique`);
    t.is(indices[offsets[j + 1] - 1], 4096, 'the bias closes every row');
  }
  const other = loadSpam({ bits: 12, seed: 7 });
  t.notDeepEqual(other.test.labels, a.test.labels, 'another seed, another split');
});

test('one epoch of vSGD-fd with defaults beats chance clearly; the dense paths run', async (t) => {
  const data = loadSpam({ bits: 14 });
  const chance = 1 - data.test.labels.reduce((s, y) => s + y, 0) / data.test.labels.length;
  t.true(Math.abs(evaluate(data.test, new Float32Array(data.d)).logLoss - Math.log(2)) < 1e-12);
  const r = await train(data, { algorithm: 'vsgdfd', minibatch: 1, epochs: 1, seed: 1, evalEvery: 1000, targets: [0.3] });
  t.true(r.accuracy > 0.95 && chance < 0.72, `accuracy ${r.accuracy}, chance ${chance}`);
  t.true(r.samplesToTarget[0] !== null && r.samplesToTarget[0] <= 4000);
  const dense = await train(data, { algorithm: 'vsgdfd', sparsity: 'none', minibatch: 8, epochs: 0.2, seed: 1 });
  const adam = await train(data, { algorithm: 'adam', lr: 0.01, minibatch: 8, epochs: 0.2, seed: 1 });
  for (const x of [dense, adam]) t.true(x.logLoss < Math.log(2) && x.steps === Math.round((0.2 * 4837) / 8), JSON.stringify(x));
});

test('a tiny study runs end to end and draws its figures', async (t) => {
  const data = loadSpam({ bits: 10 });
  const r = await study(data, {
    grids: { sgd: [1], adagrad: [0.3], adam: [0.01] }, minibatch: 4, epochs: 0.2, comparisonSeeds: [1, 2],
    ns: [1, 8], rules: ['instance', 'global', 'none'], seeds: [1], targets: [0.4], maxEpochs: 0.2,
  });
  t.deepEqual(settings(r).map((x) => [x.algorithm, x.variant, x.runs.map((y) => y.seed)]),
    [['vsgdfd', 'signed', [1, 2]], ['vsgdfd', 'paper', [1, 2]], ['sgd', undefined, [1, 2]], ['adagrad', undefined, [1, 2]], ['adam', undefined, [1, 2]]]);
  t.not(r.comparison[0].logLoss, r.comparison[1].logLoss, 'the two seeds see different sample orders');
  t.regex(comparisonMarkdown(r), /Best tuned setting by mean accuracy: .* points below it \(target: within 0\.30: (met|missed)\)/);
  t.is(r.sweep.length, 6);
  t.deepEqual(sweepTable(r).map((x) => [x.rule, x.n]), [['instance', 1], ['instance', 8], ['global', 1], ['global', 8], ['none', 1], ['none', 8]]);
  for (const png of [comparisonPng(r), sweepPng(r)]) t.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
});

test('the study ranks settings by their mean over seeds and measures the gap seed by seed', (t) => {
  const run = (algorithm: SeededResult['algorithm'], lr: number | undefined, seed: number, accuracy: number, logLoss: number): SeededResult => ({
    algorithm, lr, seed, accuracy, logLoss, variant: algorithm === 'vsgdfd' ? 'signed' : undefined, minibatch: 1, ranks: 1, d: 3, samples: 4, steps: 4, seconds: seed,
    curve: [[0, 0.7, 0.5], [4, logLoss, accuracy]], samplesToTarget: [],
  });
  const r = {
    options: { comparisonSeeds: [1, 2], minibatch: 1, epochs: 1 }, d: 3, train: 4, test: 1000, sweep: [],
    comparison: [
      run('vsgdfd', undefined, 1, 0.990, 0.03), run('vsgdfd', undefined, 2, 0.986, 0.05),
      // best on seed 1 alone, not on the mean
      run('adam', 0.1, 1, 0.999, 0.01), run('adam', 0.1, 2, 0.985, 0.06),
      run('adam', 0.03, 1, 0.994, 0.02), run('adam', 0.03, 2, 0.992, 0.02),
    ],
  } as unknown as StudyResult;
  const all = settings(r);
  t.deepEqual(all.map((x) => [x.lr, x.accuracy, x.seconds]), [[undefined, 0.988, 1.5], [0.1, 0.992, 1.5], [0.03, 0.993, 1.5]]);
  t.deepEqual(all[0].curve, [[0, 0.7, 0.5], [4, 0.04, 0.988]]);
  const v = verdict(r);
  t.is(v.best.lr, 0.03);
  t.is(v.gap.toFixed(6), '0.500000');
  t.deepEqual(v.perSeed.map((g) => g.toFixed(6)), ['0.400000', '0.600000']);
  t.regex(comparisonMarkdown(r), /0\.50 points below it \(target: within 0\.30: missed\)/);
  t.regex(comparisonMarkdown(r), /\| Adam \| 0\.03 \| 0\.9940 \/ 0\.9920 \| 0\.9930 \| 7\.0 \|/);
});

test('`vsgd-fd train spam --json` prints one JSON object', (t) => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'lib/cli.ts'), 'train', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  const r = cli('spam', '--json', '--epochs', '1', '--bits', '12', '--no-progress');
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '');
  const j = JSON.parse(r.stdout);
  for (const k of ['accuracy', 'logLoss', 'seconds', 'loadSeconds']) t.is(typeof j[k], 'number', k);
  t.like(j, { problem: 'spam', algorithm: 'vsgdfd', variant: 'signed', sparsity: 'instance', minibatch: 1, epochs: 1, bits: 12, d: 4097, train: 4837, test: 1209, samples: 4837 });
  t.true(j.accuracy > 0.9);
  t.is(typeof j.diagnostics.moving, 'number');
  const bad = cli('cifar');
  t.not(bad.status, 0);
  t.regex(bad.stderr, /unknown cifar; known: spam, mnist/);
  const momentum = cli('spam', '--algorithm', 'momentum');
  t.not(momentum.status, 0);
  t.regex(momentum.stderr, /spam takes --algorithm vsgdfd, sgd, adagrad, adam, not momentum/);
});
