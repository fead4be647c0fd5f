// What VSGDfd and VSGD add to the shared optimizer: curvature rows beside the gradients (shifted
// rows at the probe point, or supplied curvature), the probe point itself, and sparse rows under
// `sparsity: 'instance' | 'global'`.
import * as check from '../check';
import type { Sparsity, Variant } from '../names';
import { Optimizer } from './base';
import type { CommonOptions, StepInfo } from './types';
import { checkSparse, firstNonFiniteSparse, type SparseRows } from './rows';

/** The options of VSGDfd and VSGD. */
export interface AdaptiveOptions extends CommonOptions {
  /** 'signed': the random-sign probe and the split rate (docs/algorithm.md, "Variants");
   * 'paper': the method as published. Default: 'signed'. */
  variant?: Variant;
  /** 'none': dense rates (eq. 3); 'instance': each coordinate counts the rows where its entry is
   * non-zero (eq. 4) and takes sparse rows; 'global': the moving average of that count.
   * Default: 'instance'. With variant 'paper' or reweight: 'none'. */
  sparsity?: Sparsity;
  /** Curvature rows every k-th update (the paper's footnote 3); bootstrap updates always take them.
   * Range: an integer >= 1 and <= 2147483647. Default: 1. */
  curvatureEvery?: number;
  /** Samples a coordinate gathers before it moves (n0). Range: an integer >= 1 and <= 16777216.
   * Default: 10. */
  bootstrap?: number;
  /** Over-estimation factor C of the bootstrap statistics: the first rates are small.
   * Range: a number >= 1 and <= 1000000. Default: 2. */
  slowStart?: number;
  /** ε of the rates and the probe offset. Range: a finite float32 >= 1e-30. Default: 0.00001. */
  epsilon?: number;
  /** A batch mean this many standard deviations from the running mean widens the memory (τ + 1);
   * 0 disables the test. Range: a finite float32 >= 0. Default: 2. */
  outlierSigmas?: number;
  /** The orthogonal reweighting of the rows (eq. 5); dense rows, `sparsity: 'none'`. Default: false. */
  reweight?: boolean;
}

export abstract class CurvatureOptimizer<S extends object, O extends AdaptiveOptions> extends Optimizer<S, O> {
  /** One update from n gradient rows (row-major, n x d) and, when curvature is due
   * (`needsCurvature`), the curvature rows: for VSGDfd the same samples' gradients at the point
   * probe() returned, for VSGD per-sample diagonal curvature. */
  override update(grads: Float32Array, extra?: Float32Array): StepInfo {
    return this.updateRows(grads, extra);
  }

  /** update() on a worker thread (see Optimizer.updateAsync). */
  override updateAsync(grads: Float32Array, extra?: Float32Array): Promise<StepInfo> {
    return this.updateRowsAsync(grads, extra);
  }

  /** accumulate() with the curvature rows of the same rows (for VSGDfd: gradients at the point
   * probe() returned, which needs the optimizer past its bootstrap; while bootstrapping add every
   * gradient row first, then probe(), then accumulateCurvature()). */
  override accumulate(grads: Float32Array, extra?: Float32Array): void {
    this.accumulateRows(grads, extra);
  }

  /** Curvature rows for gradient rows already passed to accumulate(): the same rows in the same
   * order, with their shifted (VSGDfd) or curvature (VSGD) rows. */
  accumulateCurvature(grads: Float32Array, extra: Float32Array): void {
    this.engine('accumulateCurvature');
    const kind = this.schedule.kind as 'shifted' | 'curvature';
    const k = check.rows(grads, 'grads', this.d);
    check.rows(extra, kind, this.d, k);
    if (kind === 'shifted' && this.schedule.probedRows === null) {
      throw new Error(`${this.label('accumulateCurvature')}: call probe() after the gradient rows first`);
    }
    this.refuseNonFinite('accumulateCurvature', grads, extra);
    this.cpuEngine('accumulateCurvature', 'the accumulate form').accumulateCurvature(grads, k, extra);
    this.acc.curv += k;
  }

  /** One update from sparse rows (CSR) under `sparsity: 'instance' | 'global'`: the cost is
   * O(nnz) whatever d is. `shifted` (VSGD: `curvature`) are the values at the probe point,
   * aligned with `indices`; they are required when `needsCurvature` is true. Runs on the CPU. */
  updateSparse(rows: SparseRows): StepInfo {
    this.engine('updateSparse');
    this.#sparseMode('updateSparse');
    const kind = this.schedule.kind as 'shifted' | 'curvature';
    const r = checkSparse(rows, kind);
    const extra = r[kind];
    if (extra === undefined || extra === null) {
      if (this.needsCurvature) {
        throw new TypeError(check.expected(`a Float32Array of ${kind} values (curvature is due on this step: curvatureEvery = ${this.schedule.every})`, `rows.${kind}`, extra));
      }
    } else if (kind === 'shifted') {
      const s = this.schedule;
      if (s.probedRows === null) throw new Error(`${this.label('updateSparse')}: shifted values were passed but probeSparse() was not called since the last update`);
      if (s.probedRows !== r.offsets.length - 1 || s.probedNnz !== r.indices.length) {
        throw new RangeError(`${this.label('updateSparse')}: probeSparse() was given ${s.probedRows} rows with ${s.probedNnz} entries but updateSparse() ${r.offsets.length - 1} with ${r.indices.length}; ` +
          'the shifted values must be the same rows\' gradients at the point probeSparse() formed from them');
      }
    }
    const engine = this.cpuEngine('updateSparse', 'sparse rows');
    const probeOut = kind === 'shifted' && this.schedule.point !== 'none' ? this.buffer('probe', this.d) : null;
    const inputs = () => firstNonFiniteSparse(r, r.values, 'rows.values') ?? (extra ? firstNonFiniteSparse(r, extra, `rows.${kind}`) : null);
    const dist = this.dist;
    const stats = this.guarded('updateSparse', () => dist ? dist.updateSparse(engine, this.updates, r, extra ?? null, probeOut, this.schedule.boot) :
      engine.updateSparse(r.offsets, r.indices, r.values, extra ?? null, this.updates, probeOut), inputs);
    // the sparse pass counts the coordinates that finished bootstrapping, not those left
    return this.stepped(r.offsets.length - 1, !!extra, probeOut !== null, stats, this.schedule.boot - stats[3]);
  }

  /** The probe point θ+δ for this step's rows, as a view that the next probe() overwrites.
   * Rows are required while bootstrapping (δ is then their running mean); optional after. */
  protected probePoint(grads?: Float32Array): Float32Array {
    this.engine('probe');
    return this.probeFor(grads);
  }

  protected override probeFor(grads?: Float32Array): Float32Array {
    const engine = this.native;
    const s = this.schedule;
    const out = this.buffer('probe', this.d);
    if (this.acc.rows > 0) {
      // an accumulation is open: δ from its sums (grads, if given, were accumulated already)
      engine.accumulateProbe(out);
      s.point = 'none';
      s.probedRows = this.acc.rows;
      return out;
    }
    let n = 0;
    if (grads !== undefined) n = check.rows(grads, 'grads', this.d);
    else if (s.boot > 0) {
      throw new TypeError(check.expected('the gradient rows of this step (the probe offset is their mean while bootstrapping)', 'grads', grads));
    }
    // after bootstrap δ depends on the state only, so the point the last update wrote is exact;
    // while some coordinates bootstrap, only they need the rows (a patch, not a full pass), and
    // under comm 'mpi' the mean of every rank's rows
    if (this.dist && s.boot > 0 && grads !== undefined) {
      this.dist.probe(engine, this.updates, grads, n, out);
      s.point = 'none';
    } else if (s.point !== 'current' || s.boot > 0) {
      engine.probe(grads ?? null, n, out, s.point === 'current');
      s.point = grads === undefined ? 'current' : 'none';
    }
    s.probedRows = n;
    return out;
  }

  protected override async probeForAsync(grads: Float32Array): Promise<Float32Array> {
    if (!this.dist || this.schedule.boot === 0 || this.acc.rows > 0) return this.probeFor(grads);
    const out = this.buffer('probe', this.d);
    const n = check.rows(grads, 'grads', this.d);
    await this.dist.probeAsync(this.native, this.updates, grads, n, out);
    this.schedule.point = 'none';
    this.schedule.probedRows = n;
    return out;
  }

  /** The probe point for these sparse rows: the same d-sized view as probe(), brought up to date
   * in O(nnz) for the coordinates the rows name (a full pass only the first time or after
   * invalidate()). Then evaluate the rows' gradients there and pass them as `shifted`. */
  protected probeSparsePoint(rows: SparseRows): Float32Array {
    this.engine('probeSparse');
    this.#sparseMode('probeSparse');
    const r = checkSparse(rows, 'shifted');
    const engine = this.cpuEngine('probeSparse', 'sparse rows');
    const s = this.schedule;
    const out = this.buffer('probe', this.d);
    if (s.point !== 'current') engine.probe(null, 0, out);
    if (this.dist) this.dist.probeSparse(engine, this.updates, r, out);
    else engine.probeSparse(r.offsets, r.indices, r.values, out);
    s.point = 'patched';
    s.probedRows = r.offsets.length - 1;
    s.probedNnz = r.indices.length;
    return out;
  }

  #sparseMode(method: string): void {
    const sparsity = this.options.sparsity;
    if (sparsity === 'none') {
      throw new Error(`${this.label(method)} needs sparsity 'instance' or 'global' (this optimizer has sparsity '${sparsity}')`);
    }
  }
}
