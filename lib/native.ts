// Loads the addon and types its surface. The only file that knows the addon exists.
// VSGD_FD_ADDON may name another build of it (the node-gyp build is tested that way).
import bindings from 'bindings';

export interface NativeLayout {
  g: number; v: number; h: number; vh: number; tau: number; eta: number; p: number; count: number;
}

export interface EngineConfig {
  algo: number; sparsity: number; bootstrap: number; slowStart: number; epsilon: number;
  outlierSigmas: number; lr: number; decay: number; beta1: number; beta2: number;
  threads: number; device: 'cpu' | 'cuda'; auto?: boolean; reweight?: boolean;
}

/** [touched, skipped, outliers, bootstrapping] */
export type NativeStats = [number, number, number, number];

export interface NativeEngine {
  readonly device: string;
  /** whether update() can also write the next probe point (probeOut) */
  readonly fusesProbe: boolean;
  update(grads: Float32Array, n: number, extra: Float32Array | null, t: number, probeOut: Float32Array | null): NativeStats;
  updateAsync(grads: Float32Array, n: number, extra: Float32Array | null, t: number, probeOut: Float32Array | null): Promise<NativeStats>;
  probe(grads: Float32Array | null, n: number, out: Float32Array, patch?: boolean): void;
  /** CSR rows; the last entry of the result counts coordinates that finished bootstrapping */
  updateSparse(offsets: Int32Array, indices: Int32Array, values: Float32Array, extra: Float32Array | null, t: number, probeOut: Float32Array | null): NativeStats;
  probeSparse(offsets: Int32Array, indices: Int32Array, values: Float32Array, out: Float32Array): void;
  accumulate(grads: Float32Array, k: number, extra: Float32Array | null): void;
  accumulateCurvature(grads: Float32Array, k: number, extra: Float32Array): void;
  accumulateProbe(out: Float32Array): void;
  finish(t: number, probeOut: Float32Array | null): NativeStats;
  /** device backends: copy the state into the JavaScript buffer */
  readState(): void;
  /** theta or state were written by the caller */
  invalidate(): void;
  /** page-locks one of the optimizer's row buffers (GPU); false where it gains nothing */
  pin(buffer: Float32Array): boolean;
  unpin(buffer: Float32Array): void;
  dispose(): void;
}

export interface CudaStatus { compiled: boolean; available: boolean; reason?: string; device?: string }
export interface Backends { cpu: { available: true; openmp: boolean; isa: string }; cuda: CudaStatus }

interface Addon {
  Engine: new (config: EngineConfig, theta: Float32Array, state: Float32Array) => NativeEngine;
  backends(): Backends;
  layout(algo: number, sparsity: number): NativeLayout;
  /** eq. 5 for n rows (analysis: Figure 3) */
  reweight(rows: Float32Array, n: number): { weights: Float64Array; direction: Float64Array; nEff: number };
  /** a = b + s*c (bench/ only: the memory-bandwidth probe) */
  triad(a: Float32Array, b: Float32Array, c: Float32Array, s: number, threads: number): void;
}

function load(): Addon {
  const override = process.env.VSGD_FD_ADDON;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return override ? require(override) : bindings('vsgd');
}

// A build of the addon older than this TypeScript would fail later with a confusing message.
function checked(a: Addon): Addon {
  const need = ['update', 'updateAsync', 'probe', 'updateSparse', 'accumulate', 'finish', 'pin', 'readState'];
  const missing = need.filter((m) => typeof (a.Engine?.prototype as unknown as Record<string, unknown>)?.[m] !== 'function');
  if (missing.length) {
    throw new Error(`The vsgd-fd native addon is older than its TypeScript (no ${missing.join(', ')}); rebuild it with \`npm run build:native\``);
  }
  return a;
}

export const addon: Addon = checked(load());
