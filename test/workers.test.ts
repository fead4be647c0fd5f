// worker_threads: optimizers stepping in several workers at once (on a SharedArrayBuffer theta
// shared with the main thread) give the bits of sequential runs; the addon loads in every context,
// keeps no process-global mutable state, and workers that exit or are terminated leave the
// process healthy.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { VSGDfd } from '../lib/index.ts';
import { type Job, type Result, runJob } from './workers-job.ts';

const root = new URL('..', import.meta.url).pathname;
// workers do not inherit ava's TypeScript loader: each registers tsx's require hook itself
const TSX = "require('tsx/cjs');";

function start(workerData: unknown): Worker {
  return new Worker(`${TSX} require(${JSON.stringify(join(root, 'test', 'workers-job.ts'))});`, { eval: true, workerData });
}
function exited(w: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', resolve);
  });
}
function results(w: Worker): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

test('several workers at once, SharedArrayBuffer theta included, give the bits of sequential runs', async (t) => {
  const d = 3000;
  const algos: Job['algo'][] = ['VSGDfd', 'VSGD', 'SGD', 'AdaGrad', 'NaturalGradient', 'Adam'];
  const jobs: Job[] = [];
  for (const [w, algo] of algos.entries()) {
    for (const [k, options] of [{ minibatch: 3, threads: 2 }, { minibatch: 2, threads: 1 }].entries()) {
      const extra = algo === 'VSGDfd' && k ? { sparsity: 'global', curvatureEvery: 2 } : {};
      jobs.push({ algo, options: { ...options, ...extra }, d, steps: 25, seed: 1000 * w + k, offset: jobs.length * d });
    }
  }
  const shared = new SharedArrayBuffer(jobs.length * d * 4);
  new Float32Array(shared).fill(1);
  // one worker per algorithm, all running at once
  const workers = algos.map((algo) => start({ shared, jobs: jobs.filter((j) => j.algo === algo) }));
  const pending = workers.map(results);
  // meanwhile, the same jobs sequentially on plain memory in this thread
  const expected = jobs.map((job) => runJob(job, new Float32Array(job.d).fill(1)));
  const got = (await Promise.all(pending)).flat();
  await Promise.all(workers.map(exited));
  for (const [i, job] of jobs.entries()) {
    const mine = expected[i], theirs = got[i];
    t.is(theirs.infos, mine.infos, `${job.algo} #${i}: step infos`);
    t.true(Buffer.from(theirs.bytes).equals(Buffer.from(mine.bytes)), `${job.algo} #${i}: checkpoint bytes`);
    const view = new Float32Array(shared, job.offset * 4, d);
    const plain = VSGDfd.load(new Float32Array(d), mine.bytes); // only to reach the sequential theta:
    plain.dispose(); // theta is not in checkpoints, so compare the shared slice with a rerun instead
    const rerun = new Float32Array(d).fill(1);
    runJob(job, rerun);
    t.deepEqual(new Uint32Array(view.slice().buffer), new Uint32Array(rerun.buffer), `${job.algo} #${i}: theta in the SharedArrayBuffer`);
  }
});

test('workers that exit without dispose(), or are terminated mid-run, leave the process healthy', async (t) => {
  global.gc?.();
  const before = process.memoryUsage().rss;
  const job = (seed: number): Job => ({ algo: 'VSGDfd', options: { minibatch: 2 }, d: 50_000, steps: 3, seed, offset: 0 });
  for (let round = 0; round < 8; round++) {
    const ws = [0, 1, 2].map((k) => start({ shared: new SharedArrayBuffer(50_000 * 4), jobs: [job(round * 3 + k)], keep: true }));
    t.deepEqual(await Promise.all(ws.map(exited)), [0, 0, 0]);
  }
  // terminate() while a worker is inside long native steps
  for (let round = 0; round < 4; round++) {
    const w = new Worker(`${TSX}
      const { parentPort } = require('node:worker_threads');
      const { VSGDfd } = require(${JSON.stringify(join(root, 'lib', 'index.ts'))});
      const opt = new VSGDfd(new Float32Array(2_000_000).fill(1), { minibatch: 1 });
      parentPort.postMessage('running');
      for (;;) opt.step((at, out) => void out.fill(0.5));
    `, { eval: true });
    await new Promise((resolve) => w.once('message', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50 + 40 * round));
    await w.terminate();
  }
  global.gc?.();
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  t.log(`RSS after 24 exited and 4 terminated workers: ${grown.toFixed(1)} MiB above the start`);
  t.true(grown < 200, `${grown.toFixed(1)} MiB`);
  const theta = new Float32Array(10).fill(1);
  const opt = new VSGDfd(theta, { bootstrap: 1 });
  for (let i = 0; i < 3; i++) opt.step((at, out) => void out.fill(1));
  t.true(theta.every((x) => x < 1), 'the main thread still steps');
});

test('the addon loads in several contexts at once (context-aware)', async (t) => {
  const addon = process.env.VSGD_FD_ADDON ?? join(root, 'build', 'Release', 'vsgd.node');
  const ws = [0, 1, 2, 3].map(() => new Worker(`
    const { parentPort } = require('node:worker_threads');
    const a = require(${JSON.stringify(addon)});
    parentPort.postMessage(typeof a.Engine + ' ' + a.backends().cpu.available);
  `, { eval: true }));
  const said = await Promise.all(ws.map((w) => new Promise((resolve) => w.once('message', resolve))));
  t.deepEqual(said, new Array(4).fill('function true'));
  await Promise.all(ws.map(exited));
});

// Objects of the addon's C++ sources (cmake-js keeps them beside the addon): no writable,
// non-thread-local data, so nothing one context does can be seen by another.
test('the C++ sources keep no process-global mutable state', (t) => {
  const addon = process.env.VSGD_FD_ADDON ?? join(root, 'build', 'Release', 'vsgd.node');
  const objdir = join(dirname(addon), '..', 'CMakeFiles');
  if (!existsSync(objdir)) {
    t.log(`no object files beside ${addon}; nothing to inspect`);
    t.pass();
    return;
  }
  const objects: string[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/native\/(core|addon)\/.*\.cpp\.o$/.test(p)) objects.push(p);
    }
  };
  walk(objdir);
  t.true(objects.length >= 5, objects.join(' '));
  const found: string[] = [];
  for (const o of objects) {
    const sections = new Map<string, string>();
    for (const m of execFileSync('readelf', ['-SW', o], { encoding: 'utf8' }).matchAll(/\[\s*(\d+)\]\s+(\S+)/g)) sections.set(m[1], m[2]);
    for (const line of execFileSync('readelf', ['-sW', o], { encoding: 'utf8' }).split('\n')) {
      const f = line.trim().split(/\s+/);
      // TLS symbols have type TLS; DW.ref.* are the compiler's exception-handling pointers
      if (f.length < 8 || f[3] !== 'OBJECT' || f[7].startsWith('DW.ref.')) continue;
      const section = sections.get(f[6]) ?? '';
      if (/^\.(data|bss)/.test(section) && !section.startsWith('.data.rel.ro')) found.push(`${o.split('CMakeFiles/')[1]}: ${f[7]} in ${section}`);
    }
  }
  t.deepEqual(found, [], 'writable globals');
});
