// The public types of the optimizers: what an update reports, the options every class takes, and
// the definition a class gives of its algorithm.
import type { DeviceOption } from '../device';
import type { AlgorithmName, Field } from '../names';
import type { EngineConfig } from '../native';
import type { Schema } from '../options';
import type { RowKind } from './schedule';

export interface StepInfo {
  /** index of this update (0 for the first) */
  step: number;
  /** gradient rows used (under comm 'mpi': of every rank) */
  rows: number;
  /** whether curvature rows (shifted or supplied) entered this update */
  curvature: boolean;
  /** coordinates whose statistics or parameter changed */
  touched: number;
  /** coordinates left as they were because an input or a result was not finite (with
   * `nonFinite: 'throw'` the update throws instead) */
  skipped: number;
  /** coordinates whose batch hit the outlier rule (memory widened) */
  outliers: number;
  /** coordinates still gathering bootstrap statistics after this update */
  bootstrapping: number;
  /** under comm 'mpi' with several ranks: the floats this step added up over the ranks, its
   * probe point's included (docs/distributed.md) */
  reduced?: number;
}

/** Fills `out` (rows x d, row-major) with per-sample gradients at `at`, or returns such an array.
 * VSGD also receives `curvature` rows to fill when curvature is due. */
export type GradientFn = (at: Float32Array, out: Float32Array, curvature?: Float32Array) => void | Float32Array;

/** The options every optimizer takes. */
export interface CommonOptions {
  /** Rows per `step()` (the n of the paper); `update()` takes any number of rows.
   * Range: an integer >= 1 and <= 2147483647. Default: 1. */
  minibatch?: number;
  /** Where the steps run: 'cpu', 'cuda', or 'auto' (the GPU when there is one; an optimizer on a
   * GPU moves to the CPU at its first sparse or accumulate call). Default: 'auto'. */
  device?: DeviceOption;
  /** OpenMP threads of the CPU backend. Range: an integer >= 1 and <= 1024. Default: all cores. */
  threads?: number;
  /** What a non-finite value does: 'skip' leaves the coordinates it reaches (a non-finite input
   * among their rows, or a result beyond float32) as they were and counts them in
   * `StepInfo.skipped`; 'throw' makes such an update throw a RangeError with theta and the state
   * put back as they were, at the cost of a copy of both per update. Default: 'skip'. */
  nonFinite?: 'skip' | 'throw';
  /** 'mpi': this process is one rank of a data-parallel job started by an MPI launcher
   * (docs/distributed.md): each rank passes its own rows, every update adds up the statistics of
   * all ranks, and θ and the state stay identical on every rank. Outside a launcher, or in a job
   * of one rank, it changes nothing. Default: 'none'. */
  comm?: 'none' | 'mpi';
  /** true: theta, the state and the probe point, where each spans 4 MiB or more, go on 2 MiB
   * pages (Linux's transparent huge pages, where the system allows them; elsewhere nothing
   * happens). A sparse step at large d touches every array on a page of its own per coordinate,
   * and with 4 KiB pages the address translations cost more than the memory itself; the first
   * write to each huge page may wait while the kernel gathers free memory for it
   * (docs/performance.md). Default: false. */
  hugePages?: boolean;
}

/** The options as an optimizer resolved them: every default filled in. */
export type Resolved<O> = Readonly<Required<Omit<O, 'threads'>> & { threads?: number }>;

export interface AlgoDef {
  name: AlgorithmName;
  schema: Schema;
  /** public state name -> field of the native layout */
  fields: Record<string, Field>;
  /** what the second row argument of update() is */
  kind: RowKind;
  /** options passed to the engine (beyond the defaults below) */
  config(o: Record<string, unknown>): Partial<EngineConfig>;
}

export interface LoadOverrides { device?: DeviceOption; threads?: number; comm?: 'none' | 'mpi' }
