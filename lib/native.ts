// Loads the addon and types its surface: the only file that knows the addon exists. Tried in
// order: VSGD_FD_ADDON (another build; the node-gyp build is tested that way, and then nothing
// else is tried), a local compile (build/Release, what `npm run build:native` or an install that
// compiled writes), the prebuilt addon the package ships (prebuilds/<platform>-<arch>/, the CUDA
// build first). docs/install.md says how each comes to be.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ALGORITHMS, FIELDS, type Field, SPARSITIES, VARIANTS } from './names';

export type NativeLayout = Record<Field, number> & { count: number };

/** What an engine is made with: the options as lib/options.ts resolved them, ids for names. */
export interface EngineConfig {
  algo: number; sparsity: number; bootstrap: number; slowStart: number; epsilon: number;
  outlierSigmas: number; lr: number; decay: number; beta1: number; beta2: number;
  reweight: boolean; threads: number; device: 'cpu' | 'cuda' | 'mirror';
  /** vSGD-fd's variant: 0 'paper', 1 'signed' */
  variant: number;
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
  // The phases of a data-parallel step (lib/optimizers/distributed.ts, native/core/wire.h), on
  // the CPU; `rows` counts the rows of every rank together, `wire` is the buffer the ranks add up.
  /** (a) this rank's sums of its rows over all d; returns the floats written (the ones to add up).
   * `probe`: only what the probe point needs. */
  sums(grads: Float32Array, n: number, extra: Float32Array | null, wire: Float32Array, rows: number, probe: boolean): number;
  sumsAsync(grads: Float32Array, n: number, extra: Float32Array | null, wire: Float32Array, rows: number, probe: boolean): Promise<number>;
  /** (a) for sparse rows, at `coords` (sorted; null: all d) */
  sparseSums(offsets: Int32Array, indices: Int32Array, values: Float32Array, extra: Float32Array | null, coords: Int32Array | null, wire: Float32Array, rows: number, probe: boolean): number;
  /** (c) the update at `coords` (null: all d) from the summed buffer; at coords the last stat
   * counts the coordinates that finished bootstrapping, as updateSparse() does;
   * `parts` > 1: `wire` holds that many processes' buffers, `stride` floats apart, summed while loaded */
  applySums(coords: Int32Array | null, wire: Float32Array, rows: number, curvature: boolean, t: number, probeOut: Float32Array | null, parts?: number, stride?: number): NativeStats;
  applySumsAsync(coords: Int32Array | null, wire: Float32Array, rows: number, curvature: boolean, t: number, probeOut: Float32Array | null, parts?: number, stride?: number): Promise<NativeStats>;
  /** (c) for probe(): θ + δ at `coords` into `out` */
  probeSums(coords: Int32Array | null, wire: Float32Array, rows: number, out: Float32Array, parts?: number, stride?: number): void;
  /** device backends: copy the state into the JavaScript buffer */
  readState(): void;
  /** theta or state were written by the caller */
  invalidate(): void;
  /** theta and state read back, then the CPU backend for good (lib/device.ts decides when) */
  moveToCpu(): void;
  /** page-locks one of the optimizer's row buffers (GPU); false where it gains nothing */
  pin(buffer: Float32Array): boolean;
  unpin(buffer: Float32Array): void;
  dispose(): void;
}

export interface CudaStatus { compiled: boolean; available: boolean; reason?: string; device?: string }
export interface Backends { cpu: { available: true; openmp: boolean; isa: string }; cuda: CudaStatus }

export interface CheckpointFields {
  algo: number;
  d: number;
  steps: number;
  options: Record<string, unknown>;
  state: Float32Array;
}

interface Addon {
  Engine: new (config: EngineConfig, theta: Float32Array, state: Float32Array) => NativeEngine;
  /** names.h: the names of the ids, indexed by id */
  names: { algorithms: string[]; sparsity: string[]; fields: string[]; variants: string[] };
  backends(): Backends;
  layout(algo: number, sparsity: number): NativeLayout;
  /** eq. 5 for n rows (analysis: Figure 3) */
  reweight(rows: Float32Array, n: number): { weights: Float64Array; direction: Float64Array; nEff: number };
  /** a = b + s*c (bench/ only: the memory-bandwidth probe) */
  triad(a: Float32Array, b: Float32Array, c: Float32Array, s: number, threads: number): void;
  /** bench only: every array read and written at each index, and out written there */
  scatterProbe(arrays: Float32Array[], out: Float32Array, indices: Int32Array): void;
  /** huge pages for the whole 2 MiB pages inside the array (Linux), moving written ones with collapse; how many */
  hugePages(array: Float32Array, collapse: boolean): number;
  /** the index in [0, 16) at which array lies where `like` does within a 64-byte line */
  alignLike(array: Float32Array, like: Float32Array): number;
  /** the floats between two of the state's fields for d coordinates (the first d of each used) */
  stateStride(d: number): number;
  checkpointEncode(algo: number, d: number, steps: number, options: Record<string, unknown>, state: Float32Array): Uint8Array;
  /** throws "Invalid checkpoint: <why>" */
  checkpointDecode(bytes: Uint8Array): CheckpointFields;
  checkpointVersion: number;
}

const root = join(__dirname, '..');
const platform = `${process.platform}-${process.arch}`;

function load(): { addon: Addon; path: string } {
  const override = process.env.VSGD_FD_ADDON;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (override) return { addon: require(override), path: override };
  const tried: string[] = [];
  for (const path of [join(root, 'build', 'Release', 'vsgd.node'), join(root, 'prebuilds', platform, 'vsgd-cuda.node'), join(root, 'prebuilds', platform, 'vsgd.node')]) {
    if (!existsSync(path)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return { addon: require(path), path };
    } catch (e) {
      tried.push(`  ${relative(root, path)}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error([
    `vsgd-fd: no native addon loads here (${platform}, Node ${process.versions.node}).`,
    ...(tried.length ? tried : [`  no prebuilt addon for ${platform} in the package, and none was compiled`]),
    'To compile it: install cmake and a C++17 compiler, add the build tools to your project',
    '(`npm install --save-dev cmake-js node-addon-api`), then run `npm rebuild vsgd-fd`.',
    'In a clone of the repository: `npm run build:native`.',
  ].join('\n'));
}

// An addon built from other sources than this TypeScript would fail later with a confusing
// message: its method set and its name tables must be this file's.
function checked(a: Addon, path: string): Addon {
  const need = ['update', 'updateAsync', 'probe', 'updateSparse', 'accumulate', 'finish', 'pin', 'readState', 'moveToCpu'];
  const missing = need.filter((m) => typeof (a.Engine?.prototype as unknown as Record<string, unknown>)?.[m] !== 'function');
  const same = (x: readonly string[], y: unknown) => Array.isArray(y) && JSON.stringify(x) === JSON.stringify(y);
  const n = a.names;
  const tables: [string, readonly string[], unknown][] = [['algorithm', ALGORITHMS, n?.algorithms], ['sparsity', SPARSITIES, n?.sparsity], ['state field', FIELDS, n?.fields], ['variant', VARIANTS, n?.variants]];
  const differ = tables.filter(([, ours, its]) => !same(ours, its)).map(([what]) => what);
  if (missing.length || differ.length) {
    const why = [missing.length ? `no ${missing.join(', ')}` : '', differ.length ? `other ${differ.join(', ')} names than lib/names.ts` : ''].filter(Boolean).join('; ');
    throw new Error(`The vsgd-fd native addon ${path} does not match its TypeScript (${why}); rebuild it with \`npm run build:native\``);
  }
  return a;
}

const loaded = load();
/** the file the addon was loaded from */
export const addonPath: string = loaded.path;
export const addon: Addon = checked(loaded.addon, loaded.path);
