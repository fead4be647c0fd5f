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
// Sparse rows are reduced over the union of the ranks' coordinates, O(non-zeros × ranks); over
// all d coordinates at once where the rows name so many that it is cheaper (DENSE_AT).
import { Communicator, launched } from '../mpi';
import type { NativeEngine, NativeStats } from '../native';
import type { SparseRows } from './rows';

/** Sparse rows go the dense way when their non-zeros over all ranks reach this share of d
 * (bench/mpi.ts measures the crossover; docs/distributed.md); VSGD_FD_MPI_DENSE_AT overrides it. */
export const DENSE_AT = Number(process.env.VSGD_FD_MPI_DENSE_AT ?? 0.1);

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
  #sent = 0; // floats reduced since the last update (StepInfo.reduced)

  constructor(owner: string, readonly d: number, identity: string, readonly fields: number) {
    this.comm = new Communicator(owner, d, identity);
  }

  get size(): number {
    return this.comm.size;
  }

  /** The floats summed over the ranks since the last call (a step, its probe point's included). */
  reduced(): number {
    const sent = this.#sent;
    this.#sent = 0;
    return sent;
  }

  #reduce(wire: Float32Array, floats: number): void {
    this.comm.reduce(wire, floats);
    this.#sent += floats;
  }
  #reduceAsync(wire: Float32Array, floats: number): Promise<void> {
    this.#sent += floats;
    return this.comm.reduceAsync(wire, floats);
  }

  #buffer(coords: number): Float32Array {
    if (this.#wire.length < this.fields * coords) this.#wire = new Float32Array(this.fields * Math.max(coords, this.d >> 4));
    return this.#wire;
  }

  /** update() from n rows of this rank. */
  update(engine: NativeEngine, step: number, grads: Float32Array, n: number, extra: Float32Array | null, probeOut: Float32Array | null): NativeStats {
    const rows = (this.rows = this.comm.agree('update', step, extra !== null, n, 0).rows);
    const wire = this.#buffer(this.d);
    this.#reduce(wire, engine.sums(grads, n, extra, wire, rows, false));
    return engine.applySums(null, wire, rows, extra !== null, step, probeOut);
  }

  /** update() with every phase off the event loop. */
  async updateAsync(engine: NativeEngine, step: number, grads: Float32Array, n: number, extra: Float32Array | null, probeOut: Float32Array | null): Promise<NativeStats> {
    const rows = (this.rows = (await this.comm.agreeAsync('update', step, extra !== null, n, 0)).rows);
    const wire = this.#buffer(this.d);
    await this.#reduceAsync(wire, await engine.sumsAsync(grads, n, extra, wire, rows, false));
    return engine.applySumsAsync(null, wire, rows, extra !== null, step, probeOut);
  }

  /** The probe point while coordinates bootstrap: δ from the mean of every rank's rows. */
  probe(engine: NativeEngine, step: number, grads: Float32Array, n: number, out: Float32Array): void {
    const { rows } = this.comm.agree('probe', step, false, n, 0);
    const wire = this.#buffer(this.d);
    this.#reduce(wire, engine.sums(grads, n, null, wire, rows, true));
    engine.probeSums(null, wire, rows, out);
  }

  async probeAsync(engine: NativeEngine, step: number, grads: Float32Array, n: number, out: Float32Array): Promise<void> {
    const { rows } = await this.comm.agreeAsync('probe', step, false, n, 0);
    const wire = this.#buffer(this.d);
    await this.#reduceAsync(wire, await engine.sumsAsync(grads, n, null, wire, rows, true));
    engine.probeSums(null, wire, rows, out);
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
    const wire = this.#buffer(coords ? coords.length : this.d);
    this.#reduce(wire, engine.sparseSums(r.offsets, r.indices, r.values, extra, coords, wire, rows, false));
    const stats = engine.applySums(coords, wire, rows, extra !== null, step, probeOut);
    if (!coords) stats[3] = boot - stats[3]; // over all d it counts those still bootstrapping
    return stats;
  }

  /** probeSparse(): `out` brought up to date at the coordinates of every rank's rows. */
  probeSparse(engine: NativeEngine, step: number, r: SparseRows, out: Float32Array): void {
    const { rows, nnz } = this.comm.agree('probeSparse', step, false, r.offsets.length - 1, r.indices.length);
    const coords = this.#coords(r, nnz);
    const wire = this.#buffer(coords ? coords.length : this.d);
    this.#reduce(wire, engine.sparseSums(r.offsets, r.indices, r.values, null, coords, wire, rows, true));
    engine.probeSums(coords, wire, rows, out);
  }

  dispose(): void {
    this.comm.dispose();
  }
}
