// Data-parallel steps, comm: 'mpi' (docs/distributed.md). Each rank passes its own rows; a step
// is split into the phases of the core's traversal (native/core/traverse.h): (a) this rank's
// per-coordinate sums into a buffer, (b) their sum over the ranks, (c) the update from the summed
// buffer, the same on every rank, so θ and the state stay identical everywhere. While coordinates
// bootstrap, the probe point needs the global mean gradient first: probe() is (a), (b) and the
// probe point from the summed buffer.
//
// Every step starts with a header every rank sends (lib/mpi.ts): the call, the step, d and whether
// curvature rows came must agree; the rows (and non-zeros) add up to the step's totals.
//
// Steps over all d coordinates reduce through memory every rank maps when the ranks are all on
// one machine (lib/mpi.ts, shared()): each rank writes its sums, and after a barrier (c) reads
// every rank's and adds them up as it loads them, so the reduction costs no pass of its own. Else,
// and for the sparse rows' union, by an all-reduce.
//
// Sparse rows are reduced over the union of the ranks' coordinates, O(non-zeros × ranks); over
// all d coordinates at once where the rows name so many that it is cheaper (DENSE_AT).
import { Communicator, launched, type SharedSums } from '../mpi';
import type { NativeEngine, NativeStats } from '../native';
import type { SparseRows } from './rows';

/** Sparse rows go the dense way when their non-zeros over all ranks reach this share of d
 * (bench/mpi.ts measures the crossover; docs/distributed.md); VSGD_FD_MPI_DENSE_AT overrides it. */
export const DENSE_AT = Number(process.env.VSGD_FD_MPI_DENSE_AT ?? 0.1);

/** Where a step's sums go (`send`) and where (c) reads them (`recv`): this rank's segment of the
 * shared memory and every rank's (`parts` of them, `stride` floats apart, summed while loaded), or
 * one buffer reduced in place. */
interface Sums { send: Float32Array; recv: Float32Array; parts: number; stride: number; shared: boolean }

/** The data-parallel side of an optimizer made with comm 'mpi', or null when there is nothing
 * to reduce: a process no MPI launcher started, or a job of one rank. Collective: every rank makes
 * its optimizers with comm 'mpi' in the same order. */
export function distributed(owner: string, d: number, o: Record<string, unknown>): Distributed | null {
  if (o.comm !== 'mpi' || !launched()) return null;
  // what every rank's optimizer must share: its class and options but the per-process ones
  const { minibatch: _n, threads: _t, ...shared } = o;
  // the most floats a coordinate sends (native/core/wire.h): Σ∇, Σ∇², Σc, Σc², and the count
  // of active rows with sparse rates
  const fields = 4 + (o.sparsity === 'instance' || o.sparsity === 'global' ? 1 : 0);
  const dist = new Distributed(owner, d, `${owner} ${JSON.stringify(shared)}`, fields);
  const refused = dist.size === 1 ? null
    : o.reweight ? "reweight: true (eq. 5 weighs each row by all the others, on every rank)"
    : o.device === 'cuda' ? "device 'cuda' (the phased step runs on the CPU; docs/distributed.md)" : null;
  if (dist.size === 1 || refused) dist.dispose();
  if (refused) throw new Error(`${owner}: comm 'mpi' does not go with ${refused}`);
  return dist.size === 1 ? null : dist;
}

export class Distributed {
  readonly comm: Communicator;
  /** the rows of all ranks in the last step (what StepInfo.rows reports) */
  rows = 0;
  #wire = new Float32Array(0);
  #shared: SharedSums | null | undefined; // undefined until the first step over all d
  #turn = 0; // steps through shared memory so far: they take turns between its two sets
  #sent = 0; // floats reduced since the last update (StepInfo.reduced)

  constructor(owner: string, readonly d: number, identity: string, readonly fields: number) {
    this.comm = new Communicator(owner, d, identity);
  }

  get size(): number {
    return this.comm.size;
  }

  /** Whether the steps over all d reduce through shared memory (known after the first). */
  get sharedMemory(): boolean {
    return !!this.#shared;
  }

  /** The floats summed over the ranks since the last call (a step, its probe point's included). */
  reduced(): number {
    const sent = this.#sent;
    this.#sent = 0;
    return sent;
  }

  #reduce(b: Sums, floats: number): void {
    if (b.shared) this.comm.shareSums();
    else this.comm.reduce(b.send, floats);
    this.#sent += floats;
  }
  #reduceAsync(b: Sums, floats: number): Promise<void> {
    this.#sent += floats;
    return b.shared ? this.comm.shareSumsAsync() : this.comm.reduceAsync(b.send, floats);
  }

  // The buffers of a step over `coords` coordinates (null: all d), the shared memory set up
  // (collectively) by the first step over all d.
  #sums(coords: Int32Array | null): Sums {
    if (!coords && this.#shared === undefined) this.#shared = this.comm.shared(this.fields * this.d);
    return this.#pick(coords);
  }
  async #sumsAsync(coords: Int32Array | null): Promise<Sums> {
    if (!coords && this.#shared === undefined) this.#shared = await this.comm.sharedAsync(this.fields * this.d);
    return this.#pick(coords);
  }
  #pick(coords: Int32Array | null): Sums {
    if (!coords && this.#shared) {
      const { mine, all, stride } = this.#shared, set = this.#turn++ & 1;
      return { send: mine[set], recv: all[set], parts: this.size, stride, shared: true };
    }
    const n = coords ? coords.length : this.d;
    if (this.#wire.length < this.fields * n) this.#wire = new Float32Array(this.fields * Math.max(n, this.d >> 4));
    return { send: this.#wire, recv: this.#wire, parts: 1, stride: 0, shared: false };
  }

  /** update() from n rows of this rank. */
  update(engine: NativeEngine, step: number, grads: Float32Array, n: number, extra: Float32Array | null, probeOut: Float32Array | null): NativeStats {
    const rows = (this.rows = this.comm.agree('update', step, extra !== null, n, 0).rows);
    const b = this.#sums(null);
    this.#reduce(b, engine.sums(grads, n, extra, b.send, rows, false));
    return engine.applySums(null, b.recv, rows, extra !== null, step, probeOut, b.parts, b.stride);
  }

  /** update() with every phase off the event loop. */
  async updateAsync(engine: NativeEngine, step: number, grads: Float32Array, n: number, extra: Float32Array | null, probeOut: Float32Array | null): Promise<NativeStats> {
    const rows = (this.rows = (await this.comm.agreeAsync('update', step, extra !== null, n, 0)).rows);
    const b = await this.#sumsAsync(null);
    await this.#reduceAsync(b, await engine.sumsAsync(grads, n, extra, b.send, rows, false));
    return engine.applySumsAsync(null, b.recv, rows, extra !== null, step, probeOut, b.parts, b.stride);
  }

  /** The probe point while coordinates bootstrap: δ from the mean of every rank's rows. */
  probe(engine: NativeEngine, step: number, grads: Float32Array, n: number, out: Float32Array): void {
    const { rows } = this.comm.agree('probe', step, false, n, 0);
    const b = this.#sums(null);
    this.#reduce(b, engine.sums(grads, n, null, b.send, rows, true));
    engine.probeSums(null, b.recv, rows, out, b.parts, b.stride);
  }

  async probeAsync(engine: NativeEngine, step: number, grads: Float32Array, n: number, out: Float32Array): Promise<void> {
    const { rows } = await this.comm.agreeAsync('probe', step, false, n, 0);
    const b = await this.#sumsAsync(null);
    await this.#reduceAsync(b, await engine.sumsAsync(grads, n, null, b.send, rows, true));
    engine.probeSums(null, b.recv, rows, out, b.parts, b.stride);
  }

  // The coordinates a sparse step reduces over: the union of the ranks' (null: all d).
  #coords(rows: SparseRows, nnz: number): Int32Array | null {
    return nnz >= DENSE_AT * this.d ? null : this.comm.union(rows.indices);
  }

  /** updateSparse(): [touched, skipped, outliers, coordinates that finished bootstrapping];
   * `boot`: the coordinates bootstrapping before */
  updateSparse(engine: NativeEngine, step: number, r: SparseRows, extra: Float32Array | null, probeOut: Float32Array | null, boot: number): NativeStats {
    const { rows, nnz } = this.comm.agree('updateSparse', step, extra !== null, r.offsets.length - 1, r.indices.length);
    this.rows = rows;
    const coords = this.#coords(r, nnz);
    const b = this.#sums(coords);
    this.#reduce(b, engine.sparseSums(r.offsets, r.indices, r.values, extra, coords, b.send, rows, false));
    const stats = engine.applySums(coords, b.recv, rows, extra !== null, step, probeOut, b.parts, b.stride);
    if (!coords) stats[3] = boot - stats[3]; // over all d it counts those still bootstrapping
    return stats;
  }

  /** probeSparse(): `out` brought up to date at the coordinates of every rank's rows. */
  probeSparse(engine: NativeEngine, step: number, r: SparseRows, out: Float32Array): void {
    const { rows, nnz } = this.comm.agree('probeSparse', step, false, r.offsets.length - 1, r.indices.length);
    const coords = this.#coords(r, nnz);
    const b = this.#sums(coords);
    this.#reduce(b, engine.sparseSums(r.offsets, r.indices, r.values, null, coords, b.send, rows, true));
    engine.probeSums(coords, b.recv, rows, out, b.parts, b.stride);
  }

  dispose(): void {
    this.#shared = null;
    this.comm.dispose();
  }
}
