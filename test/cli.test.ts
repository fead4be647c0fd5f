// The command line: options reach the experiment, progress is a bar on a terminal and plain
// lines otherwise, Ctrl-C leaves no half-written report, a rerun replaces the folder whole.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = ['--import', 'tsx', path.join(ROOT, 'lib/cli.ts')];
const TINY = ['--functions', 'abs', '--algorithms', 'sgd,vsgdfd', '--n', '2', '--runs', '3', '--steps', '8', '--seed', '5', '--lr', '0.5', '--decay', '0'];
const tmp = (t: ExecutionContext) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsgd-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};
const cli = (...args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
const results = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));

test('simulate --help lists the options', (t) => {
  const r = cli('simulate', '--help');
  t.is(r.status, 0);
  for (const flag of ['--out', '--functions', '--algorithms', '--n', '--runs', '--steps', '--seed', '--lr', '--decay', '--heatmap-copy', '--no-progress']) t.true(r.stdout.includes(flag), flag);
});

test('bad option values are refused with a message', (t) => {
  const a = cli('simulate', '--functions', 'quad,cubic');
  t.not(a.status, 0);
  t.regex(a.stderr, /unknown cubic; known: quad, abs, rectlin, gauss/);
  const b = cli('simulate', '--runs', '0');
  t.not(b.status, 0);
  t.regex(b.stderr, /integer >= 1/);
  t.not(cli('simulate', '--n', '1,x').status, 0);
});

test('options reach the experiment; plain progress lines when not on a terminal; same seed, same numbers', (t) => {
  const dir = tmp(t);
  const out = path.join(dir, 'r');
  const copy = path.join(dir, 'img', 'heat.png');
  const r = cli('simulate', '--out', out, ...TINY, '--heatmap-copy', copy);
  t.is(r.status, 0, r.stderr);
  const j = results(out);
  t.deepEqual(j.settings.losses, ['abs']);
  t.deepEqual(j.settings.ns, [2]);
  t.is(j.settings.runs, 3);
  t.is(j.settings.seed, 5);
  t.deepEqual(j.elementary.steps, [0, 1, 2, 4, 8]);
  t.deepEqual(j.elementary.rows.map((x: { id: string }) => x.id), ['sgd-0.5-0', 'vsgdfd-paper', 'vsgdfd']);
  t.is(j.elementary.cases.length, 9);
  t.true(r.stderr.split('\n').filter(Boolean).every((line) => line.startsWith('simulate: ')), r.stderr);
  t.false(r.stderr.includes('\x1b'), 'no terminal escapes');
  t.deepEqual(fs.readFileSync(copy), fs.readFileSync(path.join(out, 'figure6.png')));
  const again = path.join(dir, 'r2');
  t.is(cli('simulate', '--out', again, ...TINY, '--no-progress').status, 0);
  t.deepEqual(results(again).elementary, j.elementary);
  t.is(cli('simulate', '--out', path.join(dir, 'quiet'), ...TINY, '--no-progress').stderr, '');
});

const hasScript = fs.existsSync('/usr/bin/script');
(hasScript ? test : test.skip)('a progress bar on a terminal', (t) => {
  const dir = tmp(t);
  const cmd = [process.execPath, ...CLI, 'simulate', '--out', path.join(dir, 'r'), ...TINY].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stdout);
  t.true(r.stdout.includes('\u2588') && r.stdout.includes('simulate |'), r.stdout.slice(0, 500));
});

test('a rerun replaces the report whole; a folder that is not a report is refused', (t) => {
  const dir = tmp(t);
  const out = path.join(dir, 'r');
  t.is(cli('simulate', '--out', out, ...TINY, '--no-progress').status, 0);
  fs.writeFileSync(path.join(out, 'stale.txt'), 'from before');
  t.is(cli('simulate', '--out', out, ...TINY, '--no-progress', '--seed', '6').status, 0);
  t.false(fs.existsSync(path.join(out, 'stale.txt')));
  t.is(results(out).settings.seed, 6);
  const other = path.join(dir, 'mine');
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, 'notes.txt'), 'keep me');
  const r = cli('simulate', '--out', other, ...TINY, '--no-progress');
  t.not(r.status, 0);
  t.regex(r.stderr, /Refusing to replace/);
  t.deepEqual(fs.readdirSync(other), ['notes.txt']);
  t.deepEqual(fs.readdirSync(dir).sort(), ['mine', 'r']);
});

test('Ctrl-C leaves the earlier report as it was and no temporary folder', async (t) => {
  const dir = tmp(t);
  const out = path.join(dir, 'r');
  t.is(cli('simulate', '--out', out, ...TINY, '--no-progress').status, 0);
  const before = fs.readFileSync(path.join(out, 'results.json'));
  const child = spawn(process.execPath, [...CLI, 'simulate', '--out', out, '--algorithms', 'sgd', '--steps', '1000000', '--seed', '9'], { cwd: ROOT });
  let err = '';
  const started = new Promise<void>((ok) => child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
    if (err.includes('grid step')) ok();
  }));
  const ended = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  await started;
  child.kill('SIGINT');
  t.is(await ended, 130);
  t.regex(err, /interrupted; no report was written/);
  t.deepEqual(fs.readFileSync(path.join(out, 'results.json')), before);
  t.deepEqual(fs.readdirSync(dir), ['r']);
});

test('the bin entry is the compiled cli', (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  t.is(pkg.bin['vsgd-fd'], 'dist/cli.js');
  t.regex(pkg.scripts.simulate, /node dist\/cli\.js simulate/);
  const built = path.join(ROOT, 'dist/cli.js');
  if (!fs.existsSync(built)) {
    t.log('dist/cli.js is not built (npm run build:ts); only package.json was checked');
    return;
  }
  t.true(fs.readFileSync(built, 'utf8').startsWith('#!/usr/bin/env node'));
  const r = spawnSync(process.execPath, [built, '--version'], { encoding: 'utf8' });
  t.is(r.stdout.trim(), pkg.version);
});
