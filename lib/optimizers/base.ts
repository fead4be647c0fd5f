// What every optimizer shares: one native engine over the caller's theta and a state buffer
// that JavaScript allocates and the addon writes through; checks, step(), save/load, dispose.
import * as check from '../check';
import { decode, encode } from '../checkpoint';
import { addon, type EngineConfig, type NativeEngine, type NativeLayout, type NativeStats } from '../native';
import { resolve, type Schema } from '../options';

export interface StepInfo {
  /** index of this update (0 for the first) */
  step: number;
  /** gradient rows used */
  rows: number;
  /** whether curvature rows (shifted or supplied) entered this update */
  curvature: boolean;
  /** coordinates whose statistics or parameter changed */
  touched: number;
  /** coordinates left as they were because an input or a result was not finite */
  skipped: number;
  /** coordinates whose batch hit the outlier rule (memory widened) */
  outliers: number;
  /** coordinates still gathering bootstrap statistics after this update */
  bootstrapping: number;
}

/** Fills `out` (rows x d, row-major) with per-sample gradients at `at`, or returns such an array.
 * VSGD also receives `curvature` rows to fill when curvature is due. */
export type GradientFn = (at: Float32Array, out: Float32Array, curvature?: Float32Array) => void | Float32Array;

export interface AlgoDef {
  id: number;
  name: string;
  schema: Schema;
  /** public state name -> field of the core layout */
  fields: Record<string, Exclude<keyof NativeLayout, 'count'>>;
  /** what the second row argument of update() is */
  extra: 'shifted' | 'curvature' | null;
  /** options passed to the engine (beyond those named in the schema) */
  config(o: Options): Partial<EngineConfig>;
}

export type Options = Record<string, number | string | boolean | undefined>;

interface Prepared {
  n: number;
  extra: boolean;
  probeOut: Float32Array | null;
  grads: Float32Array;
  extraRows: Float32Array | null;
}

/** n sparse rows: row j holds indices[offsets[j] .. offsets[j+1]) (sorted, unique) with their
 * values; `shifted` (VSGDfd) or `curvature` (VSGD) are aligned with indices. */
export interface SparseRows {
  offsets: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  shifted?: Float32Array;
  curvature?: Float32Array;
}
export interface LoadOverrides { device?: 'auto' | 'cpu' | 'cuda'; threads?: number }

const SPARSITY: Record<string, number> = { none: 0, instance: 1, global: 2 };

function resolveDevice(device: string): 'cpu' | 'cuda' {
  if (device === 'auto') return addon.backends().cuda.available ? 'cuda' : 'cpu';
  return device as 'cpu' | 'cuda';
}

export abstract class Optimizer {
  /** the caller's parameters, updated in place */
  readonly theta: Float32Array;
  readonly d: number;
  readonly options: Readonly<Options>;
  readonly #def: AlgoDef;
  #engine: NativeEngine | null;
  readonly #state: Float32Array;
  readonly #views: Record<string, Float32Array>;
  #busy: string | null = null;
  #steps = 0;
  #boot: number;
  #probed = false;
  // 'current': the probe buffer holds θ+δ (δ from the state alone) for every coordinate, as the
  // last update left it; 'patched': and probeSparse() then adjusted the coordinates of its rows
  #probeBuf: 'none' | 'current' | 'patched' = 'none';
  #buffers: Record<string, Float32Array> = {};
  #acc = { rows: 0, curv: 0 }; // the open accumulation (accumulate() ... finish())

  protected constructor(def: AlgoDef, theta: unknown, options: unknown) {
    this.#def = def;
    const t = check.float32(theta, 'theta');
    if (t.length === 0) throw new RangeError(check.expected('a Float32Array with at least one element', 'theta', t));
    const o = resolve(def.name, def.schema, options);
    if (o.reweight && o.sparsity !== 'none') {
      throw new RangeError(`Expected options.sparsity 'none' with options.reweight true (eq. 5 reweights whole rows) but received '${o.sparsity}'`);
    }
    this.theta = t;
    this.d = t.length;
    this.options = Object.freeze(o);
    const sparsity = SPARSITY[(o.sparsity as string) ?? 'none'];
    const layout = addon.layout(def.id, sparsity);
    this.#state = new Float32Array(layout.count * this.d);
    this.#views = {};
    for (const [name, field] of Object.entries(def.fields)) {
      const slot = layout[field];
      if (slot >= 0) this.#views[name] = this.#state.subarray(slot * this.d, (slot + 1) * this.d);
    }
    this.#boot = def.extra ? this.d : 0;
    const config: EngineConfig = {
      algo: def.id, sparsity, bootstrap: 1, slowStart: 1, epsilon: 1e-5, outlierSigmas: 0,
      lr: 0, decay: 0, beta1: 0, beta2: 0,
      threads: (o.threads as number | undefined) ?? 0,
      device: resolveDevice(o.device as string),
      auto: o.device === 'auto',
      ...def.config(o),
    };
    this.#engine = new addon.Engine(config, this.theta, this.#state);
  }

  /** 'cpu' or 'cuda' (under VSGD_FD_MIRROR=1, 'mirror': tests): where the steps run. Made with
   * device 'auto', an optimizer on a GPU moves to the CPU at its first sparse or accumulate call. */
  get device(): string {
    return this.#engine ? this.#engine.device : 'disposed';
  }
  /** updates done so far */
  get steps(): number {
    return this.#steps;
  }
  /** true while some coordinate still gathers bootstrap statistics */
  get bootstrapping(): boolean {
    return this.#boot > 0;
  }
  /** whether the next update must come with curvature rows */
  get needsCurvature(): boolean {
    if (!this.#def.extra) return false;
    const every = this.options.curvatureEvery as number;
    return this.#steps % every === 0 || (this.options.sparsity === 'none' && this.#boot > 0);
  }
  /** views of the optimizer state, named as in docs/algorithm.md: zero-copy on the CPU; on a
   * GPU the same views, refreshed from the device on each access */
  get state(): Readonly<Record<string, Float32Array>> {
    this.#guard('state').readState();
    return this.#views;
  }

  /** Call after writing theta or the state views yourself between updates: a prepared probe
   * point is dropped and a GPU backend uploads them again. */
  invalidate(): void {
    this.#guard('invalidate').invalidate();
    this.#probeBuf = 'none';
  }

  /** One update from n gradient rows (row-major, n x d) and, for vSGD-fd, the shifted rows
   * (gradients of the same samples at the point probe() returned) or, for VSGD, curvature rows. */
  update(grads: Float32Array, extra?: Float32Array): StepInfo {
    this.#guard('update');
    return this.#update(grads, extra);
  }

  /** update() on a worker thread: the event loop keeps turning meanwhile. Until the promise
   * settles every other call on this optimizer is refused, and theta and the row arrays must not
   * be written, transferred or detached by the caller. */
  async updateAsync(grads: Float32Array, extra?: Float32Array): Promise<StepInfo> {
    const engine = this.#guard('updateAsync');
    const call = this.#prepare(grads, extra);
    this.#busy = 'updateAsync';
    try {
      return this.#finish(call, await engine.updateAsync(call.grads, call.n, call.extraRows, this.#steps, call.probeOut));
    } finally {
      this.#busy = null;
    }
  }

  /** step() whose gradient function may be asynchronous, with the update on a worker thread. */
  async stepAsync(fn: (at: Float32Array, out: Float32Array, curvature?: Float32Array) => void | Float32Array | Promise<void | Float32Array>): Promise<StepInfo> {
    const rows = this.#gather(fn, 'stepAsync');
    let r = rows.next(); // refusals happen here, before #busy is set
    try {
      while (!r.done) {
        const [at, out, curv] = r.value;
        r = rows.next(this.#checked(await (curv ? fn(at, out, curv) : fn(at, out)), out, true));
      }
    } finally {
      this.#busy = null;
    }
    return this.updateAsync(r.value.grads, r.value.extra);
  }

  /** Calls fn for the gradients at theta (and at the probe point when curvature is due),
   * then updates. fn must not call this optimizer. */
  step(fn: GradientFn): StepInfo {
    const rows = this.#gather(fn, 'step');
    let r = rows.next(); // refusals happen here, before #busy is set
    try {
      while (!r.done) {
        const [at, out, curv] = r.value;
        r = rows.next(this.#checked(curv ? fn(at, out, curv) : fn(at, out), out, false));
      }
    } finally {
      this.#busy = null;
    }
    return this.#update(r.value.grads, r.value.extra);
  }

  /** One update from sparse rows (CSR) under `sparsity: 'instance' | 'global'`: the cost is
   * O(nnz) whatever d is. `shifted` (VSGD: `curvature`) are the values at the probe point,
   * aligned with `indices`; they are required when `needsCurvature` is true. */
  updateSparse(rows: SparseRows): StepInfo {
    const engine = this.#guard('updateSparse');
    const r = this.#sparse(rows, 'updateSparse');
    const kind = this.#def.extra as 'shifted' | 'curvature';
    const extra = (rows as unknown as Record<string, unknown>)[kind];
    if (extra === undefined || extra === null) {
      if (this.needsCurvature) {
        throw new TypeError(check.expected(`a Float32Array of ${kind} values (curvature is due on this step: curvatureEvery = ${this.options.curvatureEvery})`, `rows.${kind}`, extra));
      }
    } else {
      check.float32(extra, `rows.${kind}`);
      if (kind === 'shifted' && !this.#probed) {
        throw new Error(`${this.#def.name}.updateSparse(): shifted values were passed but probeSparse() was not called since the last update`);
      }
    }
    const probeOut = kind === 'shifted' && this.#probeBuf !== 'none' ? this.#buffer('probe', this.d) : null;
    const [touched, skipped, outliers, finished] = engine.updateSparse(r.offsets, r.indices, r.values, (extra as Float32Array) ?? null, this.#steps, probeOut);
    this.#boot -= finished;
    const info: StepInfo = { step: this.#steps, rows: r.offsets.length - 1, curvature: !!extra, touched, skipped, outliers, bootstrapping: this.#boot };
    this.#steps++;
    this.#probed = false;
    this.#probeBuf = probeOut ? 'current' : 'none';
    return info;
  }

  /** The probe point for these sparse rows: the same d-sized view as probe(), brought up to date
   * in O(nnz) for the coordinates the rows name (a full pass only the first time or after
   * invalidate()). Then evaluate the rows' gradients there and pass them as `shifted`. */
  protected probeSparsePoint(rows: SparseRows): Float32Array {
    const engine = this.#guard('probeSparse');
    const r = this.#sparse(rows, 'probeSparse');
    const out = this.#buffer('probe', this.d);
    if (this.#probeBuf !== 'current') engine.probe(null, 0, out);
    engine.probeSparse(r.offsets, r.indices, r.values, out);
    this.#probeBuf = 'patched';
    this.#probed = true;
    return out;
  }

  #sparse(rows: SparseRows, method: string): SparseRows {
    if (this.options.sparsity === undefined || this.options.sparsity === 'none') {
      throw new Error(`${this.#def.name}.${method}() needs sparsity 'instance' or 'global' (this optimizer has sparsity '${this.options.sparsity ?? 'none'}')`);
    }
    if (rows === null || typeof rows !== 'object') throw new TypeError(check.expected('an object { offsets, indices, values }', 'rows', rows));
    const known = ['offsets', 'indices', 'values', this.#def.extra as string];
    for (const [key, value] of Object.entries(rows)) {
      if (!known.includes(key) && value !== undefined) throw new TypeError(`Unknown field ${JSON.stringify(key)} in rows; known: ${known.join(', ')}`);
    }
    for (const key of ['offsets', 'indices'] as const) {
      if (!(rows[key] instanceof Int32Array)) throw new TypeError(check.expected('an Int32Array', `rows.${key}`, rows[key]));
    }
    check.float32(rows.values, 'rows.values');
    if (rows.values.length !== rows.indices.length) {
      throw new RangeError(check.expected(`a Float32Array of length ${rows.indices.length} (one value per index)`, 'rows.values', rows.values));
    }
    const extra = (rows as unknown as Record<string, Float32Array | undefined>)[this.#def.extra as string];
    if (extra !== undefined && extra !== null && extra.length !== rows.indices.length) {
      throw new RangeError(check.expected(`a Float32Array of length ${rows.indices.length} (one value per index)`, `rows.${this.#def.extra}`, extra));
    }
    return rows;
  }

  /** The accumulate form (docs/accumulate.md): feed the step's rows a few at a time with
   * accumulate(), then finish(); memory O(d) instead of O(n·d), the same numbers as update()
   * with all rows at once. `extra` gives the curvature rows of the same rows (for VSGDfd:
   * gradients at the point probe() returned, which needs the optimizer past its bootstrap;
   * while bootstrapping add every gradient row first, then probe(), then accumulateCurvature()). */
  accumulate(grads: Float32Array, extra?: Float32Array): void {
    const engine = this.#guard('accumulate');
    if (this.options.reweight) throw new Error(`${this.#def.name}.accumulate(): reweighting needs all rows at once; use update()`);
    const k = check.rows(grads, 'grads', this.d);
    const { rows, curv } = this.#acc;
    if (extra !== undefined) {
      const kind = this.#def.extra;
      if (!kind) throw new TypeError(check.expected('no second argument', `${this.#def.name}.accumulate()`, extra));
      check.rows(extra, kind, this.d, k);
      if (kind === 'shifted') {
        if (this.#boot > 0) {
          throw new Error(`${this.#def.name}.accumulate(): while bootstrapping the probe point depends on every row; ` +
            'add all gradient rows, call probe(), then accumulateCurvature(grads, shifted)');
        }
        if (!this.#probed) throw new Error(`${this.#def.name}.accumulate(): shifted rows need probe() first in this step`);
      }
      if (curv !== rows) throw new Error(`${this.#def.name}.accumulate(): ${rows - curv} earlier rows still lack their curvature rows`);
    } else if (curv > 0 && this.#boot > 0 && this.#def.extra === 'shifted') {
      throw new Error(`${this.#def.name}.accumulate(): curvature rows were already added; while bootstrapping every gradient row must come first`);
    }
    engine.accumulate(grads, k, extra ?? null);
    this.#acc.rows += k;
    if (extra !== undefined) this.#acc.curv += k;
  }

  /** Curvature rows for gradient rows already passed to accumulate(): the same rows in the same
   * order, with their shifted (VSGDfd) or curvature (VSGD) rows. */
  accumulateCurvature(grads: Float32Array, extra: Float32Array): void {
    const engine = this.#guard('accumulateCurvature');
    const kind = this.#def.extra;
    if (!kind) throw new Error(`${this.#def.name} takes no curvature rows`);
    const k = check.rows(grads, 'grads', this.d);
    check.rows(extra, kind, this.d, k);
    if (kind === 'shifted' && !this.#probed) throw new Error(`${this.#def.name}.accumulateCurvature(): call probe() after the gradient rows first`);
    engine.accumulateCurvature(grads, k, extra);
    this.#acc.curv += k;
  }

  /** Completes the accumulated step, as update() would with the same rows. */
  finish(): StepInfo {
    const engine = this.#guard('finish');
    const { rows, curv } = this.#acc;
    if (rows === 0) throw new Error(`${this.#def.name}.finish(): no rows were accumulated`);
    if (curv !== 0 && curv !== rows) throw new Error(`${this.#def.name}.finish(): ${rows} gradient rows but ${curv} curvature rows`);
    if (curv === 0 && this.needsCurvature) {
      throw new TypeError(`${this.#def.name}.finish(): curvature is due on this step; add the ${this.#def.extra} rows of the ${rows} gradient rows`);
    }
    const every = this.options.curvatureEvery as number;
    const probeOut = this.#def.extra === 'shifted' && engine.fusesProbe && (this.#steps + 1) % every === 0 ? this.#buffer('probe', this.d) : null;
    const info = this.#finish({ n: rows, extra: curv > 0, probeOut }, engine.finish(this.#steps, probeOut));
    this.#acc = { rows: 0, curv: 0 };
    return info;
  }

  /** Serializes options, counters and state (not theta): versioned and checksummed. */
  save(): Uint8Array {
    this.#guard('save').readState();
    return encode({ algo: this.#def.id, d: this.d, steps: this.#steps, options: { ...this.options }, state: this.#state });
  }

  /** Frees the native engine; any later call throws. */
  dispose(): void {
    if (this.#busy) throw new Error(`${this.#def.name}.dispose() was called from inside ${this.#busy}(); call it afterwards`);
    this.#engine?.dispose();
    this.#engine = null;
    this.#buffers = {};
  }

  protected probePoint(grads?: Float32Array): Float32Array {
    this.#guard('probe');
    return this.#probe(grads);
  }

  /** Shared by the subclasses' static load(). */
  protected static restore<T extends Optimizer>(
    make: (theta: Float32Array, options: Options) => T,
    def: AlgoDef,
    theta: unknown,
    bytes: unknown,
    overrides: LoadOverrides = {},
  ): T {
    const t = check.float32(theta, 'theta');
    const c = decode(bytes);
    if (c.algo !== def.id) throw new Error(`Invalid checkpoint: it was saved by another algorithm (id ${c.algo}), not ${def.name}`);
    if (c.d !== t.length) throw new RangeError(`Invalid checkpoint: it holds d = ${c.d} coordinates but theta has length ${t.length}`);
    if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
      throw new TypeError(check.expected('an object { device?, threads }', 'overrides', overrides));
    }
    for (const key of Object.keys(overrides)) {
      if (key !== 'device' && key !== 'threads') throw new TypeError(`Unknown load override ${JSON.stringify(key)}; known: device, threads`);
    }
    const options = { ...(c.options as Options), ...overrides };
    const opt = make(t, options);
    if (opt.#state.length !== c.state.length) {
      opt.dispose();
      throw new Error(`Invalid checkpoint: ${c.state.length} state floats where ${def.name} keeps ${opt.#state.length}`);
    }
    opt.#state.set(c.state);
    opt.#steps = c.steps;
    opt.#engine?.invalidate();
    if (def.extra) {
      const tau = opt.#views.tau;
      let boot = 0;
      for (let i = 0; i < tau.length; i++) boot += tau[i] <= 0 ? 1 : 0;
      opt.#boot = boot;
    }
    return opt;
  }

  #guard(method: string): NativeEngine {
    const name = `${this.#def.name}.${method}()`;
    if (!this.#engine) throw new Error(`${name}: this optimizer was disposed`);
    if (this.#busy === 'updateAsync') throw new Error(`${name} was called while updateAsync() is in flight; await it first`);
    if (this.#busy) throw new Error(`${name} was called from inside ${this.#busy}()'s callback; re-entrant calls are refused`);
    if (this.theta.length !== this.d) {
      throw new Error(`${name}: theta was detached or transferred (length ${this.d} expected, ${this.theta.length} now)`);
    }
    return this.#engine;
  }

  #buffer(key: string, size: number): Float32Array {
    let b = this.#buffers[key];
    if (!b || b.length !== size) {
      const engine = this.#engine as NativeEngine;
      if (b && key !== 'probe') engine.unpin(b);
      this.#buffers[key] = b = new Float32Array(size);
      if (key !== 'probe' && engine.device !== 'cpu') engine.pin(b); // rows cross the bus from here
    }
    return b;
  }

  /** The optimizer's own row buffers for `rows` rows (default: minibatch), the ones step() fills:
   * fill them in place and pass them to update(). On a GPU they are page-locked, so they cross
   * the bus in one DMA without staging. `extra` is the shifted (VSGDfd) or curvature (VSGD) rows. */
  rowBuffers(rows?: number): { grads: Float32Array; extra?: Float32Array } {
    this.#guard('rowBuffers');
    const n = rows ?? (this.options.minibatch as number);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(check.expected('a positive integer', 'rows', rows));
    const grads = this.#buffer('grads', n * this.d);
    const kind = this.#def.extra;
    return kind ? { grads, extra: this.#buffer(kind, n * this.d) } : { grads };
  }

  // The calls of one step(): yields [at, out, curvature?] for the caller to evaluate fn with, and
  // takes back the rows; step() drives it synchronously, stepAsync() awaiting each call. Its
  // refusals come before the first yield, with nothing changed; from there #busy is set and the
  // driver clears it.
  *#gather(fn: unknown, method: 'step' | 'stepAsync'): Generator<[Float32Array, Float32Array, Float32Array?], { grads: Float32Array; extra?: Float32Array }, Float32Array> {
    this.#guard(method);
    if (typeof fn !== 'function') throw new TypeError(check.expected('a function', 'fn', fn));
    const size = (this.options.minibatch as number) * this.d;
    const due = this.needsCurvature;
    const out = this.#buffer('grads', size);
    const curv = this.#def.extra === 'curvature' && due ? this.#buffer('curvature', size) : undefined;
    this.#busy = method;
    const grads = yield [this.theta, out, curv];
    if (this.#def.extra !== 'shifted' || !due) return { grads, extra: curv };
    return { grads, extra: yield [this.#probe(grads), this.#buffer('shifted', size)] };
  }

  // What fn gave back: its own rows (checked) or undefined for the `out` it filled.
  #checked(r: unknown, out: Float32Array, async: boolean): Float32Array {
    if (r === undefined) return out;
    if (!async && r instanceof Promise) throw new TypeError('The step callback returned a Promise; it must fill `out` synchronously (or use stepAsync)');
    check.rows(r, 'the array returned by the step callback', this.d, this.options.minibatch as number);
    return r as Float32Array;
  }

  #probe(grads?: Float32Array): Float32Array {
    const engine = this.#engine as NativeEngine;
    if (this.#acc.rows > 0) {
      // an accumulation is open: δ from its sums (grads, if given, were accumulated already)
      const out = this.#buffer('probe', this.d);
      engine.accumulateProbe(out);
      this.#probeBuf = 'none';
      this.#probed = true;
      return out;
    }
    let n = 0;
    if (grads !== undefined) n = check.rows(grads, 'grads', this.d);
    else if (this.#boot > 0) {
      throw new TypeError(check.expected('the gradient rows of this step (the probe offset is their mean while bootstrapping)', 'grads', grads));
    }
    const out = this.#buffer('probe', this.d);
    // after bootstrap δ depends on the state only, so the point the last update wrote is exact;
    // while some coordinates bootstrap, only they need the rows (a patch, not a full pass)
    if (this.#probeBuf !== 'current' || this.#boot > 0) {
      engine.probe(grads ?? null, n, out, this.#probeBuf === 'current');
      this.#probeBuf = grads === undefined ? 'current' : 'none';
    }
    this.#probed = true;
    return out;
  }

  #update(grads: Float32Array, extra: Float32Array | undefined): StepInfo {
    const engine = this.#guard('update');
    if (this.#acc.rows > 0) throw new Error(`${this.#def.name}: finish() the accumulated rows first`);
    const call = this.#prepare(grads, extra);
    return this.#finish(call, engine.update(call.grads, call.n, call.extraRows, this.#steps, call.probeOut));
  }

  // Every check of an update, before anything is written.
  #prepare(grads: Float32Array, extra: Float32Array | undefined): Prepared {
    const engine = this.#engine as NativeEngine;
    const name = this.#def.name;
    const n = check.rows(grads, 'grads', this.d);
    const kind = this.#def.extra;
    if (extra !== undefined && extra !== null) {
      if (!kind) throw new TypeError(check.expected('no second argument', `${name}.update()`, extra));
      check.rows(extra, kind, this.d, n);
      if (kind === 'shifted' && !this.#probed) {
        throw new Error(`${name}.update(): shifted rows were passed but probe() was not called since the last update; ` +
          'they must be gradients at the point probe() returns');
      }
    } else if (this.needsCurvature) {
      const why = this.#boot > 0 && this.options.sparsity === 'none' ? 'the optimizer is bootstrapping' : `curvatureEvery = ${this.options.curvatureEvery}`;
      throw new TypeError(check.expected(`a Float32Array of ${kind} rows (curvature is due on this step: ${why})`, kind as string, extra));
    }
    // when the next update is due to take curvature, this one writes its probe point
    const every = this.options.curvatureEvery as number;
    const fuse = kind === 'shifted' && engine.fusesProbe && (this.#steps + 1) % every === 0;
    return {
      n, extra: !!extra, probeOut: fuse ? this.#buffer('probe', this.d) : null,
      grads: this.#unaliased(grads), extraRows: extra ? this.#unaliased(extra) : null,
    };
  }

  // Rows that share memory with theta or the state would be read after the pass wrote them:
  // such rows are copied first, so the step sees them as they were when it was called.
  #unaliased(rows: Float32Array): Float32Array {
    for (const own of [this.theta, this.#state]) {
      if (rows.buffer !== own.buffer) continue;
      const a = rows.byteOffset, b = own.byteOffset;
      if (a < b + own.byteLength && b < a + rows.byteLength) return rows.slice();
    }
    return rows;
  }

  #finish(call: { n: number; extra: boolean; probeOut: Float32Array | null }, stats: NativeStats): StepInfo {
    const [touched, skipped, outliers, bootstrapping] = stats;
    const info: StepInfo = { step: this.#steps, rows: call.n, curvature: call.extra, touched, skipped, outliers, bootstrapping };
    this.#steps++;
    this.#boot = bootstrapping;
    this.#probed = false;
    this.#probeBuf = call.probeOut ? 'current' : 'none';
    return info;
  }
}
