// worker_threads: optimizers stepping in several workers at once (on a SharedArrayBuffer theta
// shared with the main thread) give the bits of sequential runs; the addon loads in every context,
// keeps no process-global mutable state, and workers that exit leave the process healthy; a worker
// terminated inside a native step must not take the process down (a known failure for now).
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { VSGDfd } from '../lib/index.ts';
import { type Job, type Result, runJob } from './workers-job.ts';

const root = new URL('..', import.meta.url).pathname;
// workers do not inherit ava's TypeScript loader: each registers tsx's require hook itself
const TSX = "require('tsx/cjs');";

// A worker with its first message and its exit code as promises, listened for from the start.
function spawn(code: string, workerData?: unknown) {
  const worker = new Worker(code, { eval: true, workerData });
  const exit = new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
  const message = new Promise<unknown>((resolve, reject) => {
    worker.once('message', resolve);
    exit.then((code) => reject(new Error(`worker exited with ${code} before answering`)), reject);
  });
  message.catch(() => undefined); // observed through `exit` when nobody awaits it
  return { worker, exit, message };
}
function start(workerData: unknown) {
  return spawn(`${TSX} require(${JSON.stringify(join(root, 'test', 'workers-job.ts'))});`, workerData);
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
  // meanwhile, the same jobs sequentially on plain memory in this thread
  const expected = jobs.map((job) => {
    const theta = new Float32Array(job.d).fill(1);
    return { ...runJob(job, theta), theta };
  });
  const got = ((await Promise.all(workers.map((w) => w.message))) as Result[][]).flat();
  t.deepEqual(await Promise.all(workers.map((w) => w.exit)), new Array(workers.length).fill(0));
  for (const [i, job] of jobs.entries()) {
    const mine = expected[i], theirs = got[i];
    t.is(theirs.infos, mine.infos, `${job.algo} #${i}: step infos`);
    t.true(Buffer.from(theirs.bytes).equals(Buffer.from(mine.bytes)), `${job.algo} #${i}: checkpoint bytes`);
    const view = new Float32Array(shared, job.offset * 4, d);
    t.deepEqual(new Uint32Array(view.slice().buffer), new Uint32Array(mine.theta.buffer), `${job.algo} #${i}: theta in the SharedArrayBuffer`);
  }
});

// Measured in a child with --expose-gc (ava's process cannot collect on demand): RSS after each
// round of three workers that create and step an optimizer and exit without dispose().
test('workers that exit without dispose() leave the process healthy and its memory flat', (t) => {
  const body = `${TSX} const { VSGDfd } = require(${JSON.stringify(join(root, 'lib', 'index.ts'))});
    const o = new VSGDfd(new Float32Array(50000), { minibatch: 2 });
    for (let i = 0; i < 3; i++) o.step((a, out) => void out.fill(1));`;
  const script = `const { Worker } = require('node:worker_threads');
    (async () => {
      const rss = [];
      for (let round = 0; round < 30; round++) {
        const codes = await Promise.all([0, 1, 2].map(() => new Promise((resolve, reject) => {
          const w = new Worker(${JSON.stringify(body)}, { eval: true });
          w.on('exit', resolve);
          w.on('error', reject);
        })));
        if (codes.some((c) => c !== 0)) throw new Error('exit codes ' + codes);
        global.gc();
        rss.push(process.memoryUsage().rss / 2 ** 20);
      }
      console.log(JSON.stringify(rss));
    })();`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 240_000 });
  t.is(r.status, 0, r.stderr.slice(-500));
  const rss: number[] = JSON.parse(r.stdout);
  // after a warm-up of 10 rounds, 60 more workers may not keep adding memory
  const grown = rss[29] - rss[9];
  t.log(`RSS over 30 rounds of 3 workers (MiB): ${rss.map((x) => x.toFixed(0)).join(' ')}; rounds 10 to 30: ${grown.toFixed(1)} MiB`);
  t.true(grown < 16, `${grown.toFixed(1)} MiB`);
  const theta = new Float32Array(10).fill(1);
  const opt = new VSGDfd(theta, { bootstrap: 1 });
  for (let i = 0; i < 3; i++) opt.step((at, out) => void out.fill(1));
  t.true(theta.every((x) => x < 1), 'the main thread still steps');
});

test('the addon loads in several contexts at once (context-aware)', async (t) => {
  const addon = process.env.VSGD_FD_ADDON ?? join(root, 'build', 'Release', 'vsgd.node');
  const ws = [0, 1, 2, 3].map(() => spawn(`
    const { parentPort } = require('node:worker_threads');
    const a = require(${JSON.stringify(addon)});
    parentPort.postMessage(typeof a.Engine + ' ' + a.backends().cpu.available);
  `));
  t.deepEqual(await Promise.all(ws.map((w) => w.message)), new Array(4).fill('function true'));
  t.deepEqual(await Promise.all(ws.map((w) => w.exit)), [0, 0, 0, 0]);
});

// Objects of the addon's C++ sources, from the cmake-js build of this checkout (`npm install` or
// `npm run build:native` makes it): no writable, non-thread-local data, so nothing one context
// does can be seen by another.
test('the C++ sources keep no process-global mutable state', (t) => {
  const objdir = join(root, 'build', 'CMakeFiles');
  if (!existsSync(objdir)) {
    t.fail(`no object files in ${objdir}: build the addon with \`npm run build:native\` first`);
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

// terminate() lands while the worker is inside a long native step; the step finishes, and the
// addon must not turn the exceptions of a terminating environment into std::terminate().
test('terminate() during a native step leaves the process alive', (t) => {
  const body = `${TSX}
    const { parentPort } = require('node:worker_threads');
    const { VSGDfd } = require(${JSON.stringify(join(root, 'lib', 'index.ts'))});
    const opt = new VSGDfd(new Float32Array(2_000_000).fill(1), { minibatch: 1 });
    parentPort.postMessage('running');
    for (;;) opt.step((at, out) => void out.fill(0.5));`;
  const script = `const { Worker } = require('node:worker_threads');
    (async () => {
      for (let round = 0; round < 10; round++) {
        const w = new Worker(${JSON.stringify(body)}, { eval: true });
        await new Promise((resolve) => w.once('message', resolve));
        await new Promise((resolve) => setTimeout(resolve, 30 + 25 * round));
        await w.terminate();
      }
      console.log('alive');
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 240_000 });
  t.is(r.status, 0, `exit ${r.status} signal ${r.signal}: ${r.stderr.slice(-300)}`);
  t.is(r.stdout.trim(), 'alive');
});
