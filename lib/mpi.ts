// MPI for data-parallel steps (docs/distributed.md). The collectives live in an optional second
// addon, vsgd_mpi.node, built where MPI is installed; vsgd.node never links libmpi, so the library
// loads and behaves as before where MPI is absent. This file loads that addon on first use,
// reports backends().mpi, and gives each optimizer with comm 'mpi' a communicator whose every
// collective step starts by checking that all ranks make the same call.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface MpiStatus {
  /** vsgd_mpi.node was built and loads here */
  compiled: boolean;
  /** this process was started by an MPI launcher and MPI is running */
  available: boolean;
  /** why not, when it is not */
  reason?: string;
  rank: number;
  size: number;
}

type Numbers = Float32Array | Float64Array | Int32Array;

interface NativeComm {
  readonly rank: number;
  readonly size: number;
  allreduce(buf: Numbers, count?: number): void;
  allreduceAsync(buf: Numbers, count?: number): Promise<void>;
  allgather<T extends Numbers>(local: T): T;
  allgatherAsync<T extends Numbers>(local: T): Promise<T>;
  union(indices: Int32Array): Int32Array;
  unionAsync(indices: Int32Array): Promise<Int32Array>;
  shared(floats: number): SharedSums | null;
  sharedAsync(floats: number): Promise<SharedSums | null>;
  shareSums(): void;
  shareSumsAsync(): Promise<void>;
  barrier(): void;
  dispose(): void;
}

/** Memory that every rank of the job maps (ranks on one machine), in two sets that consecutive
 * steps take turns on: `mine[set]` takes this rank's sums; after shareSums(), `all[set]` holds
 * every rank's, `stride` floats apart, in rank order. */
export interface SharedSums { mine: [Float32Array, Float32Array]; all: [Float32Array, Float32Array]; stride: number }

interface MpiAddon {
  Comm: new () => NativeComm;
  info(): MpiStatus & { library: string };
}

const platform = `${process.platform}-${process.arch}`;

/** Whether an MPI launcher (mpirun, mpiexec, srun) started this process. */
export const launched = (): boolean => ['OMPI_COMM_WORLD_SIZE', 'PMIX_RANK', 'PMI_RANK', 'PMI_SIZE'].some((v) => process.env[v] !== undefined);

let loaded: { addon: MpiAddon | null; reason: string } | null = null;

// VSGD_FD_MPI_ADDON names another build (or, set to an empty string, hides the addon: tests of
// the "built without MPI" path); else a local compile, then a prebuilt one.
function load(): { addon: MpiAddon | null; reason: string } {
  if (loaded) return loaded;
  const root = join(__dirname, '..');
  const override = process.env.VSGD_FD_MPI_ADDON;
  const paths = override !== undefined ? (override ? [override] : []) : [join(root, 'build', 'Release', 'vsgd_mpi.node'), join(root, 'prebuilds', platform, 'vsgd_mpi.node')];
  const tried: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (loaded = { addon: require(path) as MpiAddon, reason: '' });
    } catch (e) {
      tried.push(`${path}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const reason = tried.length ? `vsgd_mpi.node does not load (${tried.join('; ')})` :
    'built without MPI (install Open MPI, e.g. apt-get install libopenmpi-dev openmpi-bin, then npm run build:native)';
  return (loaded = { addon: null, reason });
}

/** backends().mpi */
export function mpiStatus(): MpiStatus {
  const { addon, reason } = load();
  if (!addon) return { compiled: false, available: false, reason, rank: 0, size: 1 };
  const { library: _, ...info } = addon.info();
  return info;
}

/** The header every rank sends before a collective step: fields that must agree, then the two
 * this rank brings to the step's totals. */
const HEADER = ['optimizer', 'call', 'step', 'd', 'curvature', 'rows', 'nnz'] as const;
const AGREE = 5;
/** The calls that reduce, by code (a header holds the code). */
const CALLS = ['update', 'probe', 'updateSparse', 'probeSparse', 'finish'] as const;
export type CallName = (typeof CALLS)[number];
/** a step's rows and non-zeros over all ranks */
export interface Totals { rows: number; nnz: number }

// 32-bit FNV-1a: a header field that names the optimizer (class and options)
function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < text.length; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193);
  return h >>> 0;
}

/** One optimizer's side of the job: a communicator of its own (so several optimizers, and their
 * asynchronous calls, never match each other's collectives) and the checks of every call. */
export class Communicator {
  readonly rank: number;
  readonly size: number;
  readonly #comm: NativeComm;
  readonly #identity: number;
  readonly #header = new Float64Array(HEADER.length);

  /** Collective: every rank makes its optimizers with comm 'mpi' in the same order. `identity`
   * (the class and the options every rank must share) is checked with every call. */
  constructor(readonly owner: string, readonly d: number, identity = owner) {
    const { addon, reason } = load();
    if (!addon) {
      if (!launched()) throw new Error(`${owner}: comm 'mpi' needs vsgd_mpi.node: ${reason}`);
      throw new Error(`${owner}: comm 'mpi' in a process started by an MPI launcher, but this vsgd-fd was ${reason}; ` +
        'each rank would train alone');
    }
    this.#comm = new addon.Comm();
    this.rank = this.#comm.rank;
    this.size = this.#comm.size;
    this.#identity = fnv(identity);
  }

  #fill(call: CallName, step: number, curvature: boolean, rows: number, nnz: number): Float64Array {
    this.#header.set([this.#identity, CALLS.indexOf(call), step, this.d, curvature ? 1 : 0, rows, nnz]);
    return this.#header;
  }

  // Every rank's header agrees but for what it brings: the totals, or an error that says who differs.
  #agreed(call: CallName, all: Float64Array): Totals {
    const H = HEADER.length;
    const differ: string[] = [];
    for (let f = 0; f < AGREE; f++) {
      const name = HEADER[f];
      const values = Array.from({ length: this.size }, (_, r) => all[r * H + f]);
      if (values.some((v) => v !== values[0])) {
        const show = (v: number) => (name === 'call' ? CALLS[v] ?? `call ${v}` : name === 'curvature' ? (v ? 'with curvature rows' : 'without')
          : name === 'optimizer' ? v.toString(16).padStart(8, '0') : String(v));
        differ.push(`${name}: ${values.map((v, r) => `rank ${r} ${show(v)}`).join(', ')}`);
      }
    }
    const totals = { rows: 0, nnz: 0 };
    for (let r = 0; r < this.size; r++) totals.rows += all[r * H + AGREE], totals.nnz += all[r * H + AGREE + 1];
    if (differ.length) {
      const what = differ[0].startsWith('optimizer') ? ' (the hash of its class and options)' : '';
      throw new Error(`${this.owner}.${call}() under comm 'mpi': the ranks are not making the same call (${differ.join('; ')}${what}); ` +
        'every rank must make the same calls on its optimizers, in the same order (docs/distributed.md)');
    }
    return totals;
  }

  /** Checks that every rank makes this call at this step; returns the rows and non-zeros of all
   * ranks together. */
  agree(call: CallName, step: number, curvature: boolean, rows: number, nnz: number): Totals {
    return this.#agreed(call, this.#comm.allgather(this.#fill(call, step, curvature, rows, nnz)));
  }
  async agreeAsync(call: CallName, step: number, curvature: boolean, rows: number, nnz: number): Promise<Totals> {
    return this.#agreed(call, await this.#comm.allgatherAsync(this.#fill(call, step, curvature, rows, nnz)));
  }

  /** buf[0 .. count) summed over the ranks, in place. */
  reduce(buf: Float32Array, count: number): void {
    this.#comm.allreduce(buf, count);
  }
  reduceAsync(buf: Float32Array, count: number): Promise<void> {
    return this.#comm.allreduceAsync(buf, count);
  }

  /** Collective: buffers of `floats` in memory every rank maps, or null when the ranks are not
   * all on one machine (or VSGD_FD_MPI_SHARED=0 on any rank): then reduce() is the way. */
  shared(floats: number): SharedSums | null {
    return this.#comm.shared(floats);
  }
  sharedAsync(floats: number): Promise<SharedSums | null> {
    return this.#comm.sharedAsync(floats);
  }

  /** Collective: returns once every rank has written its sums into `mine` (shared()). */
  shareSums(): void {
    this.#comm.shareSums();
  }
  shareSumsAsync(): Promise<void> {
    return this.#comm.shareSumsAsync();
  }

  /** The sorted union of every rank's coordinates (any order, repeats allowed). */
  union(coords: Int32Array): Int32Array {
    return this.#comm.union(coords);
  }
  unionAsync(coords: Int32Array): Promise<Int32Array> {
    return this.#comm.unionAsync(coords);
  }

  /** Waits for every rank (benchmarks). */
  barrier(): void {
    this.#comm.barrier();
  }

  /** Every rank's value of x, rank after rank (tests compare hashes of θ with it). */
  gather(x: Float64Array): Float64Array {
    return this.#comm.allgather(x);
  }

  dispose(): void {
    this.#comm.dispose();
  }
}
