// The job of test/mpi.test.ts, run by mpirun on every rank: `node --import tsx test/mpi-job.ts
// <scenario>`. Each rank prints one line "RESULT <json>" (what it saw); the test reads them all.
import { createHash } from 'node:crypto';
import { AdaGrad, Adam, backends, NaturalGradient, type Optimizer, SGD, VSGDfd } from '../lib/index.ts';
import { Communicator, mpiStatus } from '../lib/mpi.ts';
import { make, SEED } from './helpers.ts';
import { run, type Scenario } from './lockstep.ts';

type Out = Record<string, unknown>;
const scenario = process.argv[2];
const status = mpiStatus();
const rank = status.rank;

function report(out: Out): void {
  console.log(`RESULT ${JSON.stringify({ rank, size: status.size, ...out })}`);
}
const message = (f: () => unknown): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

// A busy wait (a rank stuck in its own work, not in a collective).
function stall(seconds: number): void {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end);
}

// 48 bits of a digest of some arrays, twice: exact in a Float64Array, for comparing across ranks.
function digest(...parts: ArrayBufferView[]): [number, number] {
  const h = createHash('sha256');
  for (const p of parts) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  const b = h.digest();
  return [b.readUIntBE(0, 6), b.readUIntBE(6, 6)];
}

// Rows [⌊r·n/k⌋, ⌊(r+1)·n/k⌋) of n go to rank r of k: uneven when k does not divide n.
const share = (r: number, n: number, k: number) => [Math.floor((r * n) / k), Math.floor(((r + 1) * n) / k)];

// k ranks with their share of n rows each step against the float64 reference on all n rows, in
// lockstep (test/lockstep.ts, the tolerance of test/compare.test.ts); after every update θ and
// the state must be identical on every rank, and save() must give the same bytes at the end.
// vSGD-fd runs the paper's method unless a scenario says 'signed' (test/helpers.ts make()).
const base = { d: 150, steps: 24, bootstrap: 4, curvatureEvery: 1, outlierSigmas: 2, lr: 0, decay: 0, density: 1, hostile: false };
export const EQUIVALENCE: Scenario[] = [
  { ...base, algo: 'vsgdfd', sparsity: 'none', minibatch: 6, hostile: true },
  { ...base, algo: 'vsgdfd', sparsity: 'none', minibatch: 3, curvatureEvery: 3, outlierSigmas: 1 },
  { ...base, algo: 'vsgdfd', sparsity: 'instance', minibatch: 5, density: 0.5, hostile: true },
  { ...base, algo: 'vsgdfd', sparsity: 'global', minibatch: 4, density: 0.4, curvatureEvery: 2 },
  { ...base, algo: 'vsgd', sparsity: 'none', minibatch: 4, hostile: true },
  { ...base, algo: 'vsgd', sparsity: 'instance', minibatch: 4, density: 0.3 },
  // sparse rows: reduced over the union of the ranks' coordinates (non-zeros of all ranks below
  // DENSE_AT·d), and over all d when denser
  { ...base, algo: 'vsgdfd', sparsity: 'instance', minibatch: 6, density: 0.008, csr: true, d: 600 },
  { ...base, algo: 'vsgdfd', sparsity: 'global', minibatch: 4, density: 0.3, csr: true, curvatureEvery: 2 },
  { ...base, algo: 'vsgd', sparsity: 'instance', minibatch: 5, density: 0.01, csr: true, hostile: true, d: 400 },
  // the 'signed' variant (the default): its probe sign hashes the coordinate's index and its g and
  // v, which the reduction makes the same on every rank; sparse rows hash the real indices
  { ...base, algo: 'vsgdfd', variant: 'signed', sparsity: 'none', minibatch: 6, hostile: true },
  { ...base, algo: 'vsgdfd', variant: 'signed', sparsity: 'instance', minibatch: 5, density: 0.5, curvatureEvery: 2 },
  { ...base, algo: 'vsgdfd', variant: 'signed', sparsity: 'instance', minibatch: 6, density: 0.008, csr: true, d: 600, hostile: true },
  { ...base, algo: 'vsgdfd', variant: 'signed', sparsity: 'global', minibatch: 4, density: 0.3, csr: true },
  { ...base, algo: 'sgd', sparsity: 'none', minibatch: 4, lr: 0.01, decay: 1, hostile: true },
  { ...base, algo: 'adagrad', sparsity: 'none', minibatch: 3, lr: 0.1 },
  { ...base, algo: 'natural', sparsity: 'none', minibatch: 4, lr: 0.05, hostile: true },
  { ...base, algo: 'adam', sparsity: 'none', minibatch: 5, lr: 0.01 },
];

// A few steps of each kind, the same samples whatever the options (for comparing bits).
function steps(opt: Optimizer, rows: (r: number) => Float32Array, count: number): void {
  const d = opt.theta.length;
  for (let t = 0; t < count; t++) {
    const g = rows(t);
    if (opt instanceof VSGDfd && opt.needsCurvature) {
      const at = opt.probe(g);
      opt.update(g, g.map((x, k) => x + 0.5 * (at[k % d] - opt.theta[k % d])));
    } else opt.update(g);
  }
}

const scenarios: Record<string, () => Promise<Out>> = {
  // no launcher: comm 'mpi' is one process and gives the bits of no comm at all
  async alone() {
    const made = message(() => new VSGDfd(new Float32Array(3), { comm: 'mpi' }).dispose());
    if (made) return { mpi: backends().mpi, made };
    const d = 300;
    const rows = (t: number) => Float32Array.from({ length: 2 * d }, (_, k) => Math.sin(k * 0.37 + t) + 0.1 * ((k * 7919 + t) % 13));
    const same = ([[VSGDfd, {}], [VSGDfd, { sparsity: 'instance' }], [Adam, {}]] as const).map(([Cls, o]) => {
      const bits = ([{}, { comm: 'mpi' }] as const).map((c) => {
        const opt = new Cls(new Float32Array(d).fill(0.5), { minibatch: 2, ...o, ...c });
        steps(opt, rows, 15);
        const h = digest(opt.theta, ...Object.values(opt.state));
        opt.dispose();
        return h;
      });
      return bits[0][0] === bits[1][0] && bits[0][1] === bits[1][1];
    });
    return { mpi: backends().mpi, same, made };
  },
  async equivalence() {
    const check = new Communicator('Test', 1);
    const problems: string[] = [];
    const saved: number[][] = [];
    let shared = true;
    EQUIVALENCE.forEach((sc, k) => {
      const [a, b] = share(rank, sc.minibatch, status.size);
      const same = (what: string, step: number, h: [number, number]) => {
        const all = check.gather(Float64Array.from(h));
        for (let r = 1; r < status.size; r++) {
          if (all[2 * r] !== all[0] || all[2 * r + 1] !== all[1]) return [`#${k} step ${step}: ${what} of rank ${r} differs from rank 0's`];
        }
        return [];
      };
      const found = run(sc, (SEED + 7919 * k) >>> 0, {
        // the same options on every rank (save() writes them), whatever rows each passes
        make: (s, theta) => make(s, theta, { comm: 'mpi', minibatch: Math.ceil(s.minibatch / status.size) }),
        rows: (all, _n, d) => all.subarray(a * d, b * d),
        after: (o, step) => {
          const out = same('θ and the state', step, digest(o.theta, ...Object.values(o.state)));
          const tau = (o.state as { tau?: Float32Array }).tau;
          if (tau && o.bootstrapping !== tau.some((x) => x <= 0)) out.push(`#${k} step ${step}: bootstrapping is ${o.bootstrapping}`);
          if (step === sc.steps - 1) {
            if (!sc.csr) shared &&= (o as unknown as { dist: { sharedMemory: boolean } }).dist.sharedMemory;
            const bytes = o.save();
            saved.push(digest(bytes));
            out.push(...same('save()', step, digest(bytes)));
          }
          return out;
        },
      });
      problems.push(...found.map((p) => `#${k} ${sc.algo}${sc.variant === 'signed' ? " 'signed'" : ''} ${sc.sparsity}${sc.csr ? ' sparse rows' : ''}: ${p}`));
    });
    check.dispose();
    return { problems, seed: SEED, scenarios: EQUIVALENCE.length, saved: saved.length, shared };
  },

  // updateAsync and stepAsync give the bits of update(); two optimizers stepping at once, started
  // in a different order on each rank, do not mix their reductions; the event loop turns while a
  // rank waits for a slow one
  async async() {
    const d = 5000, n = 3;
    const rows = (t: number) => Float32Array.from({ length: n * d }, (_, k) => Math.sin(k * 0.37 + t + rank) + 0.1 * ((k * 7919 + t) % 13));
    const make = () => new VSGDfd(new Float32Array(d).fill(0.5), { minibatch: n, comm: 'mpi' });
    const sync = make(), a = make(), b = make();
    steps(sync, rows, 12);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    for (let t = 0; t < 12; t++) {
      const fn = (opt: VSGDfd) => async (at: Float32Array, out: Float32Array) => {
        if (t === 6 && rank === 1 && opt === a && at === opt.theta) stall(1); // rank 1 is late once
        const g = rows(t);
        if (at === opt.theta) out.set(g);
        else out.set(g.map((x, k) => x + 0.5 * (at[k % d] - opt.theta[k % d])));
      };
      const [first, second] = rank === 0 ? [a, b] : [b, a];
      await Promise.all([first.stepAsync(fn(first)), second.stepAsync(fn(second))]);
    }
    clearInterval(timer);
    const h = [sync, a, b].map((o) => digest(o.theta, ...Object.values(o.state)).join());
    for (const o of [sync, a, b]) o.dispose();
    return { same: h[0] === h[1] && h[1] === h[2], ticks };
  },
  // the floats each step adds up over the ranks (StepInfo.reduced), d = 100
  async bytes() {
    const d = 100;
    const g = Float32Array.from({ length: 2 * d }, (_, k) => Math.sin(k + rank));
    const denseSteps = (variant: 'paper' | 'signed') => {
      const fd = new VSGDfd(new Float32Array(d), { variant, sparsity: 'none', bootstrap: 1, curvatureEvery: 2, comm: 'mpi' });
      const sent = [0, 1, 2, 3].map(() => {
        if (!fd.needsCurvature) return fd.update(g).reduced;
        fd.probe(g);
        return fd.update(g, g.map((x) => x * 1.01)).reduced;
      });
      fd.dispose();
      return sent;
    };
    const [dense, denseSigned] = [denseSteps('paper'), denseSteps('signed')];
    const inst = new VSGDfd(new Float32Array(d), { variant: 'paper', bootstrap: 1, sparsity: 'instance', comm: 'mpi' });
    inst.probe(g);
    const instance = inst.update(g, g.map((x) => x * 1.01)).reduced;
    const csr = { offsets: Int32Array.from([0, 3]), indices: Int32Array.from(rank ? [1, 2, 3] : [3, 4, 5]), values: Float32Array.from([1, 2, 3]) };
    const sp = new VSGDfd(new Float32Array(d), { bootstrap: 1, sparsity: 'instance', comm: 'mpi' });
    sp.probeSparse(csr);
    const sparse = sp.updateSparse({ ...csr, shifted: csr.values.map((x) => x * 1.01) }).reduced;
    // rank 1's row has no entries (its shifted values an empty array): it still sends every field
    const none = { offsets: Int32Array.from([0, rank ? 0 : 2]), indices: Int32Array.from(rank ? [] : [1, 2]), values: Float32Array.from(rank ? [] : [1, 2]) };
    const em = new VSGDfd(new Float32Array(d), { bootstrap: 1, sparsity: 'instance', comm: 'mpi' });
    em.probeSparse(none);
    const empty = em.updateSparse({ ...none, shifted: none.values.map((x) => x * 1.01) }).reduced;
    const baselines = ([[Adam, {}], [NaturalGradient, {}], [SGD, {}], [AdaGrad, {}]] as const).map(([Cls]) => {
      const o = new Cls(new Float32Array(d), { comm: 'mpi' });
      const r = o.update(g).reduced;
      o.dispose();
      return r;
    });
    for (const o of [inst, sp, em]) o.dispose();
    return { dense, denseSigned, instance, sparse, empty, baselines };
  },
  // calls that differ between the ranks: an error on both that says how, and nothing changed
  async diverge() {
    const d = 50;
    const opt = new VSGDfd(new Float32Array(d), { sparsity: 'instance', curvatureEvery: 2, comm: 'mpi' });
    const g = Float32Array.from({ length: d }, (_, k) => (k % 3) - 1);
    const csr = { offsets: Int32Array.from([0, 2]), indices: Int32Array.from([1, 4]), values: Float32Array.from([0.5, -0.5]) };
    opt.probe(g);
    opt.update(g, g);
    const before = digest(opt.theta, ...Object.values(opt.state));
    const kinds = message(() => (rank === 0 ? opt.update(g) : opt.updateSparse(csr)));
    const unchanged = digest(opt.theta, ...Object.values(opt.state)).join() === before.join();
    opt.update(g); // the ranks agree again: the communicator still works
    // rank 1 made its optimizer with other options
    const other = new VSGDfd(new Float32Array(d), { sparsity: 'instance', comm: 'mpi', bootstrap: rank === 0 ? 10 : 5 });
    const options = message(() => other.probeSparse(csr));
    opt.dispose();
    other.dispose();
    return { kinds, unchanged, options, steps: opt.steps };
  },
  // the communicator alone: sums, the union of index sets, the call check, the async forms
  async comm() {
    const c = new Communicator('Test', 5);
    const buf = Float32Array.from([1, 2, 3, 4], (x) => x * (rank + 1));
    c.reduce(buf, 3); // the 4th entry stays this rank's
    const totals = c.agree('update', 7, true, rank + 2, 10 * rank);
    const union = c.union(rank === 0 ? Int32Array.from([9, 0, 3, 0]) : Int32Array.from([1, 3, 4]));
    // rank 1 comes a second late: rank 0's event loop keeps turning while it waits
    const viaAsync = Float32Array.from([rank, 1]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    if (rank === 1) stall(1);
    await c.reduceAsync(viaAsync, 2);
    clearInterval(timer);
    const totalsAsync = await c.agreeAsync('probe', 8, false, 1, 0);
    // a call that differs between the ranks: both ranks see the same error
    const mismatch = message(() => c.agree(rank === 0 ? 'update' : 'updateSparse', 9, rank === 0, 3, 0));
    const steps = message(() => c.agree('update', rank === 0 ? 10 : 11, true, 3, 0));
    // shared memory (ranks on one machine): after shareSums() every rank sees every rank's floats
    // in both sets, in rank order, `stride` apart
    const sh = c.shared(5);
    const sharedSeen: number[][][] = [];
    if (sh) {
      const seen = (set: 0 | 1) => [0, 1].map((r) => [...sh.all[set].subarray(r * sh.stride, r * sh.stride + 5)]);
      sh.mine[0].set([1, 2, 3, 4, 5].map((x) => x * 10 ** rank));
      c.shareSums();
      sharedSeen.push(seen(0));
      sh.mine[1].set([0.5, 0.25].map((x) => x * (rank + 1)));
      await c.shareSumsAsync();
      sharedSeen.push(seen(1));
    }
    c.dispose();
    return { buf: [...buf], totals, union: [...union], viaAsync: [...viaAsync], ticks, totalsAsync, mismatch, steps, shared: sh !== null, sharedSeen };
  },
  // a rank stuck in its own work: the other one gives up after VSGD_FD_MPI_TIMEOUT
  async stall() {
    const c = new Communicator('Test', 1);
    // the reduction through shared memory, or (VSGD_FD_MPI_SHARED=0) the all-reduce
    const sh = c.shared(4);
    const reduce = () => (sh ? c.shareSums() : c.reduce(new Float32Array(4), 4));
    c.barrier(); // both ranks are up: from here a short deadline measures the stall alone
    process.env.VSGD_FD_MPI_TIMEOUT = '2';
    if (rank === 1) stall(60);
    const start = Date.now();
    const error = message(reduce);
    const after = message(reduce);
    report({ error, after, seconds: (Date.now() - start) / 1000, status: mpiStatus(), shared: sh !== null });
    process.exitCode = 3;
    return {};
  },
  // a rank killed between two collectives: the job ends, it does not hang
  async kill() {
    const c = new Communicator('Test', 1);
    c.barrier();
    if (rank === 1) process.kill(process.pid, 'SIGKILL');
    const error = message(() => c.reduce(new Float32Array(4), 4));
    report({ error });
    return {};
  },
};

const chosen = scenarios[scenario];
if (!chosen) throw new Error(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(', ')}`);
chosen().then((out) => {
  if (Object.keys(out).length) report(out);
}, (e) => {
  report({ thrown: (e as Error).stack });
  process.exitCode = 1;
});
