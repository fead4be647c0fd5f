// What every optimizer shares (docs/architecture.md): one native engine over the caller's theta
// and a state buffer that JavaScript allocates and the addon writes through; the options checked
// once; update(), step() and their async forms, the accumulate form, save/load and dispose.
// VSGDfd and VSGD add curvature rows, probe points and sparse rows (curvature.ts); when curvature
// is due is the schedule's business (schedule.ts); the public types are in types.ts.
import * as check from '../check';
import { decode, encode } from '../checkpoint';
import { type DeviceOption, engineDevice, toCpu } from '../device';
import { ALGORITHMS, SPARSITIES, type Sparsity } from '../names';
import { addon, type EngineConfig, type NativeEngine, type NativeStats } from '../native';
import { resolve } from '../options';
import { firstNonFinite } from './rows';
import { type Distributed, distributed } from './distributed';
import { Schedule } from './schedule';
import type { AlgoDef, CommonOptions, GradientFn, LoadOverrides, Resolved, StepInfo } from './types';

/** A zeroed array of `size` floats that lies where `like` does within a 64-byte line: the dense
 * pass reads such arrays a whole line per load from θ's line boundary on. */
function alignedLike(size: number, like: Float32Array): Float32Array {
  const raw = new Float32Array(size + 15);
  const k = addon.alignLike(raw, like);
  return raw.subarray(k, k + size);
}

/** options.hugePages for one array: `written` moves pages that already hold data as well. */
function hugePages(a: Float32Array, written: boolean): void {
  if (a.byteLength >= 4 << 20) addon.hugePages(a, written);
}

/** the calls that take rows, with what they were given (for the messages of nonFinite 'throw') */
type Inputs = () => string | null;

export abstract class Optimizer<S extends object = object, O extends object = CommonOptions> {
  /** the caller's parameters, updated in place */
  readonly theta: Float32Array;
  readonly d: number;
  /** the options as resolved at construction, defaults filled in */
  readonly options: Resolved<O>;
  protected readonly schedule: Schedule;
  /** the open accumulation: rows and curvature rows added since the last finish() */
  protected readonly acc = { rows: 0, curv: 0 };
  /** comm 'mpi' with more than one rank: the reductions of every step (distributed.ts) */
  protected readonly dist: Distributed | null;
  readonly #def: AlgoDef;
  #engine: NativeEngine | null;
  /** the state: its fields `#ld` floats apart (addon.stateStride), the first d of each used */
  readonly #state: Float32Array;
  readonly #ld: number;
  readonly #fields: number;
  readonly #views: Record<string, Float32Array>;
  #busy: string | null = null;
  #steps = 0;
  #buffers: Record<string, Float32Array> = {};

  protected constructor(def: AlgoDef, theta: unknown, options: unknown) {
    this.#def = def;
    const t = check.float32(theta, 'theta');
    if (t.length === 0) throw new RangeError(check.expected('a Float32Array with at least one element', 'theta', t));
    const o = resolve<Record<string, unknown>>(def.name, def.schema, options);
    if (o.reweight && o.sparsity !== 'none') {
      throw new RangeError(`Expected options.sparsity 'none' with options.reweight true (eq. 5 reweights whole rows) but received '${o.sparsity}'`);
    }
    this.theta = t;
    this.d = t.length;
    this.options = Object.freeze(o) as Resolved<O>;
    const algo = ALGORITHMS.indexOf(def.name);
    const sparsity = SPARSITIES.indexOf((o.sparsity as Sparsity | undefined) ?? 'none');
    const layout = addon.layout(algo, sparsity);
    this.#ld = addon.stateStride(this.d);
    this.#fields = layout.count;
    this.#state = alignedLike(layout.count * this.#ld, t);
    if (o.hugePages) {
      hugePages(this.#state, false);
      hugePages(this.theta, true);  // the caller's θ usually holds data already
    }
    this.#views = {};
    for (const [name, field] of Object.entries(def.fields)) {
      const slot = layout[field];
      if (slot >= 0) this.#views[name] = this.#state.subarray(slot * this.#ld, slot * this.#ld + this.d);
    }
    this.schedule = new Schedule(def.kind, (o.curvatureEvery as number | undefined) ?? 1, sparsity === 0, this.d);
    this.dist = distributed(def.name, this.d, o);
    const config: EngineConfig = {
      algo, sparsity, bootstrap: 1, slowStart: 1, epsilon: 1e-5, outlierSigmas: 0,
      lr: 0, decay: 0, beta1: 0, beta2: 0, reweight: false, variant: 0,
      threads: (o.threads as number | undefined) ?? 0,
      device: this.dist ? 'cpu' : engineDevice(o.device as DeviceOption),
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
  /** true while some coordinate still gathers bootstrap statistics (never for the baselines) */
  get bootstrapping(): boolean {
    return this.schedule.boot > 0;
  }
  /** whether the next update must come with curvature rows (never for the baselines) */
  get needsCurvature(): boolean {
    return this.schedule.due(this.#steps);
  }
  /** views of the optimizer state, named as in docs/algorithm.md: zero-copy on the CPU; on a GPU the
   * same views, refreshed from the device on each access. eta, which an update does not store where
   * the other fields determine it, is derived on each access too: read it through `state` after an
   * update, not from a view kept from before it. */
  get state(): Readonly<S> {
    this.#guard('state').readState();
    return this.#views as S;
  }

  /** Call after writing theta or the state views yourself between updates: a prepared probe
   * point is dropped and a GPU backend uploads them again. */
  invalidate(): void {
    this.#guard('invalidate').invalidate();
    this.schedule.invalidate();
  }

  /** One update from n gradient rows (row-major, n x d). */
  update(grads: Float32Array): StepInfo {
    // a second argument from untyped callers is refused by updateRows
    return this.updateRows(grads, (arguments as IArguments)[1]);
  }

  /** update() on a worker thread: the event loop keeps turning meanwhile. Until the promise
   * settles every other call on this optimizer is refused, and theta and the row arrays must not
   * be written, transferred or detached by the caller. */
  updateAsync(grads: Float32Array): Promise<StepInfo> {
    return this.updateRowsAsync(grads, (arguments as IArguments)[1]);
  }

  /** Calls fn for the gradients at theta (and, for VSGDfd, at the probe point when curvature is
   * due), then updates. fn must not call this optimizer. */
  step(fn: GradientFn): StepInfo {
    const rows = this.#gather(fn, 'step');
    let r = rows.next(); // refusals happen here, before #busy is set
    try {
      while (!r.done) {
        const [at, out, curv] = r.value;
        r = rows.next(at ? this.#checked(curv ? fn(at, out, curv) : fn(at, out), out, false) : this.probeFor(out));
      }
    } finally {
      this.#busy = null;
    }
    return this.updateRows(r.value.grads, r.value.extra);
  }

  /** step() whose gradient function may be asynchronous, with the update on a worker thread. */
  async stepAsync(fn: (at: Float32Array, out: Float32Array, curvature?: Float32Array) => void | Float32Array | Promise<void | Float32Array>): Promise<StepInfo> {
    const rows = this.#gather(fn, 'stepAsync');
    let r = rows.next(); // refusals happen here, before #busy is set
    try {
      while (!r.done) {
        const [at, out, curv] = r.value;
        if (!at) r = rows.next(await this.probeForAsync(out));
        else r = rows.next(this.#checked(await (curv ? fn(at, out, curv) : fn(at, out)), out, true));
      }
    } finally {
      this.#busy = null;
    }
    return this.updateRowsAsync(r.value.grads, r.value.extra);
  }

  /** The accumulate form (docs/accumulate.md): feed the step's rows a few at a time, then
   * finish(); memory O(d) instead of O(n·d), the same numbers as update() with all rows at once.
   * Runs on the CPU. */
  accumulate(grads: Float32Array): void {
    this.accumulateRows(grads, (arguments as IArguments)[1]);
  }

  /** Completes the accumulated step, as update() would with the same rows. With nonFinite
   * 'throw' a refused step drops the accumulated rows. */
  finish(): StepInfo {
    const engine = this.#guard('finish');
    this.#local('finish');
    const { rows, curv } = this.acc;
    if (rows === 0) throw new Error(`${this.#def.name}.finish(): no rows were accumulated`);
    if (curv !== 0 && curv !== rows) throw new Error(`${this.#def.name}.finish(): ${rows} gradient rows but ${curv} curvature rows`);
    if (curv === 0 && this.needsCurvature) {
      throw new TypeError(`${this.#def.name}.finish(): curvature is due on this step; add the ${this.schedule.kind} rows of the ${rows} gradient rows`);
    }
    const probeOut = this.schedule.fuses(this.#steps, engine.fusesProbe) ? this.buffer('probe', this.d) : null;
    this.acc.rows = this.acc.curv = 0;
    const stats = this.guarded('finish', () => engine.finish(this.#steps, probeOut), () => null);
    return this.stepped(rows, curv > 0, probeOut !== null, stats);
  }

  /** Serializes options, counters and state (not theta): versioned and checksummed. */
  save(): Uint8Array {
    this.#guard('save').readState();
    const algo = ALGORITHMS.indexOf(this.#def.name);
    return encode({ algo, d: this.d, steps: this.#steps, options: { ...this.options }, state: this.#packed() });
  }

  /** The state's fields one after the other, d floats each, as a checkpoint holds them. */
  #packed(): Float32Array {
    if (this.#ld === this.d) return this.#state;
    const out = new Float32Array(this.#fields * this.d);
    for (let k = 0; k < this.#fields; k++) out.set(this.#state.subarray(k * this.#ld, k * this.#ld + this.d), k * this.d);
    return out;
  }

  /** Frees the native engine; any later call throws. */
  dispose(): void {
    if (this.#busy) throw new Error(`${this.#def.name}.dispose() was called from inside ${this.#busy}(); call it afterwards`);
    this.#engine?.dispose();
    this.#engine = null;
    this.dist?.dispose();
    this.#buffers = {};
  }

  /** The optimizer's own row buffers for `rows` rows (default: minibatch), the ones step() fills:
   * fill them in place and pass them to update(). On a GPU they are page-locked, so they cross
   * the bus in one DMA without staging. `extra` is the shifted (VSGDfd) or curvature (VSGD) rows. */
  rowBuffers(rows?: number): { grads: Float32Array; extra?: Float32Array } {
    this.#guard('rowBuffers');
    const n = rows ?? (this.options as CommonOptions).minibatch as number;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(check.expected('a positive integer', 'rows', rows));
    const grads = this.buffer('grads', n * this.d);
    const kind = this.schedule.kind;
    return kind ? { grads, extra: this.buffer(kind, n * this.d) } : { grads };
  }

  /** Shared by the subclasses' static load(). */
  protected static restore<T extends Optimizer>(
    make: (theta: Float32Array, options: Record<string, unknown>) => T,
    def: AlgoDef,
    theta: unknown,
    bytes: unknown,
    overrides: LoadOverrides = {},
  ): T {
    const t = check.float32(theta, 'theta');
    const c = decode(bytes);
    if (c.algo !== ALGORITHMS.indexOf(def.name)) {
      throw new Error(`Invalid checkpoint: it was saved by another algorithm (${ALGORITHMS[c.algo] ?? `id ${c.algo}`}), not ${def.name}`);
    }
    if (c.d !== t.length) throw new RangeError(`Invalid checkpoint: it holds d = ${c.d} coordinates but theta has length ${t.length}`);
    if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
      throw new TypeError(check.expected('an object { device?, threads?, comm? }', 'overrides', overrides));
    }
    for (const key of Object.keys(overrides)) {
      if (key !== 'device' && key !== 'threads' && key !== 'comm') throw new TypeError(`Unknown load override ${JSON.stringify(key)}; known: device, threads, comm`);
    }
    const opt = make(t, { ...c.options, ...overrides });
    if (opt.#fields * opt.d !== c.state.length) {
      opt.dispose();
      throw new Error(`Invalid checkpoint: ${c.state.length} state floats where ${def.name} keeps ${opt.#fields * opt.d}`);
    }
    for (let k = 0; k < opt.#fields; k++) opt.#state.set(c.state.subarray(k * opt.d, (k + 1) * opt.d), k * opt.#ld);
    opt.#steps = c.steps;
    opt.#engine?.invalidate();
    const tau = opt.#views.tau;
    if (tau) {
      let boot = 0;
      for (let i = 0; i < tau.length; i++) boot += tau[i] <= 0 ? 1 : 0;
      opt.schedule.boot = boot;
    }
    return opt;
  }

  // ---- for the subclasses

  /** `Class.method()`, for messages */
  protected label(method: string): string {
    return `${this.#def.name}.${method}()`;
  }

  /** The engine, after the checks every call shares: not disposed, not busy, theta intact. */
  protected engine(method: string): NativeEngine {
    return this.#guard(method);
  }

  /** The engine without the checks, inside a call that made them (step() asking for the probe). */
  protected get native(): NativeEngine {
    return this.#engine as NativeEngine;
  }

  /** The engine on the CPU, for the calls that run only there (lib/device.ts decides how). */
  protected cpuEngine(method: string, what: string): NativeEngine {
    const engine = this.#guard(method);
    toCpu(engine, (this.options as CommonOptions).device as DeviceOption, what);
    return engine;
  }

  protected get updates(): number {
    return this.#steps;
  }

  /** One of the optimizer's own buffers, reused from call to call ('probe', or row buffers). */
  protected buffer(key: string, size: number): Float32Array {
    let b = this.#buffers[key];
    if (!b || b.length !== size) {
      const engine = this.#engine as NativeEngine;
      if (b && key !== 'probe') engine.unpin(b);
      this.#buffers[key] = b = alignedLike(size, this.theta);
      if (key === 'probe' && (this.options as CommonOptions).hugePages) hugePages(b, false);
      if (key !== 'probe' && engine.device !== 'cpu') engine.pin(b); // rows cross the bus from here
    }
    return b;
  }

  /** The probe point for this step's rows (VSGDfd); the step() driver asks for it. */
  protected probeFor(_grads?: Float32Array): Float32Array {
    throw new Error(`${this.#def.name} has no probe point`);
  }

  /** probeFor() for stepAsync(): a reduction over the ranks (comm 'mpi') runs off the event loop. */
  protected probeForAsync(grads: Float32Array): Promise<Float32Array> {
    return Promise.resolve(this.probeFor(grads));
  }

  /** Every check of a dense update, then the update. `extra` is the second row argument. */
  protected updateRows(grads: Float32Array, extra: Float32Array | undefined): StepInfo {
    const engine = this.#guard('update');
    if (this.acc.rows > 0) throw new Error(`${this.#def.name}: finish() the accumulated rows first`);
    const call = this.#prepare(grads, extra);
    const dist = this.dist;
    const stats = this.guarded('update', () => dist ? dist.update(engine, this.#steps, call.grads, call.n, call.extra, call.probeOut) :
      engine.update(call.grads, call.n, call.extra, this.#steps, call.probeOut), call.inputs);
    return this.stepped(call.n, call.extra !== null, call.probeOut !== null, stats);
  }

  protected async updateRowsAsync(grads: Float32Array, extra: Float32Array | undefined): Promise<StepInfo> {
    const engine = this.#guard('updateAsync');
    const call = this.#prepare(grads, extra);
    const snap = this.#snapshot(engine);
    this.#busy = 'updateAsync';
    let stats: NativeStats;
    try {
      stats = await (this.dist ? this.dist.updateAsync(engine, this.#steps, call.grads, call.n, call.extra, call.probeOut) :
        engine.updateAsync(call.grads, call.n, call.extra, this.#steps, call.probeOut));
    } finally {
      this.#busy = null;
    }
    this.#verify(snap, stats, 'updateAsync', call.inputs);
    return this.stepped(call.n, call.extra !== null, call.probeOut !== null, stats);
  }

  /** accumulate(grads, extra?): `extra` gives the curvature rows of the same rows. */
  protected accumulateRows(grads: Float32Array, extra: Float32Array | undefined): void {
    this.#guard('accumulate');
    this.#local('accumulate');
    const name = this.#def.name;
    if ((this.options as { reweight?: boolean }).reweight) throw new Error(`${name}.accumulate(): reweighting needs all rows at once; use update()`);
    const k = check.rows(grads, 'grads', this.d);
    const { rows, curv } = this.acc;
    const kind = this.schedule.kind;
    if (extra !== undefined) {
      if (!kind) throw new TypeError(check.expected('no second argument', `${name}.accumulate()`, extra));
      check.rows(extra, kind, this.d, k);
      if (kind === 'shifted') {
        if (this.schedule.boot > 0) {
          throw new Error(`${name}.accumulate(): while bootstrapping the probe point depends on every row; ` +
            'add all gradient rows, call probe(), then accumulateCurvature(grads, shifted)');
        }
        if (this.schedule.probedRows === null) throw new Error(`${name}.accumulate(): shifted rows need probe() first in this step`);
      }
      if (curv !== rows) throw new Error(`${name}.accumulate(): ${rows - curv} earlier rows still lack their curvature rows`);
    } else if (curv > 0 && this.schedule.boot > 0 && kind === 'shifted') {
      throw new Error(`${name}.accumulate(): curvature rows were already added; while bootstrapping every gradient row must come first`);
    }
    this.refuseNonFinite('accumulate', grads, extra);
    this.cpuEngine('accumulate', 'the accumulate form').accumulate(grads, k, extra ?? null);
    this.acc.rows += k;
    if (extra !== undefined) this.acc.curv += k;
  }

  /** Runs one update under options.nonFinite: with 'throw', a skipped coordinate puts theta and
   * the state back as they were and throws. */
  protected guarded(method: string, run: () => NativeStats, inputs: Inputs): NativeStats {
    const snap = this.#snapshot(this.#engine as NativeEngine);
    const stats = run();
    this.#verify(snap, stats, method, inputs);
    return stats;
  }

  /** With nonFinite 'throw', rows of the accumulate form are refused as they come (finish() has
   * only their sums): nothing is added. */
  protected refuseNonFinite(method: string, grads: Float32Array, extra: Float32Array | undefined): void {
    if ((this.options as CommonOptions).nonFinite !== 'throw') return;
    const why = firstNonFinite(grads, this.d, 'grads') ?? (extra ? firstNonFinite(extra, this.d, this.schedule.kind as string) : null);
    if (why) throw new RangeError(`${this.label(method)}: ${why}; the rows were not added (options.nonFinite is 'throw')`);
  }

  /** Records a completed update: its StepInfo, the counter, the schedule. `bootstrapping` is the
   * count after it (the sparse pass reports those that finished instead: see curvature.ts). */
  protected stepped(n: number, curvature: boolean, fused: boolean, stats: NativeStats, bootstrapping = stats[3]): StepInfo {
    const [touched, skipped, outliers] = stats;
    const info: StepInfo = { step: this.#steps, rows: this.dist?.rows ?? n, curvature, touched, skipped, outliers, bootstrapping,
      ...(this.dist ? { reduced: this.dist.reduced() } : {}) };
    this.#steps++;
    this.schedule.stepped(bootstrapping, fused);
    return info;
  }

  // ---- internals

  // The accumulate form keeps its sums in the engine between calls: not under comm 'mpi'.
  #local(method: string): void {
    if (this.dist) throw new Error(`${this.label(method)}: not under comm 'mpi' with several ranks; pass each rank's rows to update()`);
  }

  #guard(method: string): NativeEngine {
    // the message only when it is thrown: this runs on every call
    if (this.#engine && !this.#busy && this.theta.length === this.d) return this.#engine;
    const name = this.label(method);
    if (!this.#engine) throw new Error(`${name}: this optimizer was disposed`);
    if (this.#busy === 'updateAsync') throw new Error(`${name} was called while updateAsync() is in flight; await it first`);
    if (this.#busy) throw new Error(`${name} was called from inside ${this.#busy}()'s callback; re-entrant calls are refused`);
    throw new Error(`${name}: theta was detached or transferred (length ${this.d} expected, ${this.theta.length} now)`);
  }

  #snapshot(engine: NativeEngine): { theta: Float32Array; state: Float32Array } | null {
    if ((this.options as CommonOptions).nonFinite !== 'throw') return null;
    engine.readState();
    return { theta: this.theta.slice(), state: this.#state.slice() };
  }

  #verify(snap: { theta: Float32Array; state: Float32Array } | null, stats: NativeStats, method: string, inputs: Inputs): void {
    const skipped = stats[1];
    if (!snap || skipped === 0) return;
    this.theta.set(snap.theta);
    this.#state.set(snap.state);
    this.#engine?.invalidate();
    this.schedule.invalidate();
    const why = inputs() ?? `${skipped} coordinate${skipped === 1 ? '' : 's'} would leave the float32 range (the step overflows)`;
    throw new RangeError(`${this.label(method)}: ${why}; nothing was updated (options.nonFinite is 'throw')`);
  }

  // The calls of one step(): yields [at, out, curvature?] for the caller to evaluate fn with, and
  // takes back the rows, or [null, grads] for the probe point of those rows (which under comm
  // 'mpi' stepAsync() reduces off the event loop); step() drives it synchronously, stepAsync()
  // awaiting each call. Its
  // refusals come before the first yield, with nothing changed; from there #busy is set and the
  // driver clears it.
  *#gather(fn: unknown, method: 'step' | 'stepAsync'): Generator<[Float32Array | null, Float32Array, Float32Array?], { grads: Float32Array; extra?: Float32Array }, Float32Array> {
    this.#guard(method);
    if (typeof fn !== 'function') throw new TypeError(check.expected('a function', 'fn', fn));
    const size = (this.options as CommonOptions).minibatch as number * this.d;
    const due = this.needsCurvature;
    const kind = this.schedule.kind;
    const out = this.buffer('grads', size);
    const curv = kind === 'curvature' && due ? this.buffer('curvature', size) : undefined;
    this.#busy = method;
    const grads = yield [this.theta, out, curv];
    if (kind !== 'shifted' || !due) return { grads, extra: curv };
    const at = yield [null, grads];
    return { grads, extra: yield [at, this.buffer('shifted', size)] };
  }

  // What fn gave back: its own rows (checked) or undefined for the `out` it filled.
  #checked(r: unknown, out: Float32Array, async: boolean): Float32Array {
    if (r === undefined) return out;
    if (!async && r instanceof Promise) throw new TypeError('The step callback returned a Promise; it must fill `out` synchronously (or use stepAsync)');
    check.rows(r, 'the array returned by the step callback', this.d, (this.options as CommonOptions).minibatch as number);
    return r as Float32Array;
  }

  // Every check of an update, before anything is written.
  #prepare(grads: Float32Array, extra: Float32Array | undefined) {
    const engine = this.#engine as NativeEngine;
    const name = this.#def.name;
    const n = check.rows(grads, 'grads', this.d);
    const kind = this.schedule.kind;
    if (extra !== undefined && extra !== null) {
      if (!kind) throw new TypeError(check.expected('no second argument', `${name}.update()`, extra));
      check.rows(extra, kind, this.d, n);
      const probed = this.schedule.probedRows;
      if (kind === 'shifted' && probed === null) {
        throw new Error(`${name}.update(): shifted rows were passed but probe() was not called since the last update; ` +
          'they must be gradients at the point probe() returns');
      }
      if (kind === 'shifted' && probed !== 0 && probed !== n) {
        throw new RangeError(`${name}.update(): probe() was given ${probed} gradient row${probed === 1 ? '' : 's'} but update() ${n}; ` +
          'the shifted rows must be the same rows\' gradients at the point probe() formed from them');
      }
    } else if (this.needsCurvature) {
      throw new TypeError(check.expected(`a Float32Array of ${kind} rows (curvature is due on this step: ${this.schedule.why()})`, kind as string, extra));
    }
    const rows = this.#unaliased(grads);
    const more = extra ? this.#unaliased(extra) : null;
    return {
      n, grads: rows, extra: more,
      // when the next update is due to take curvature, this one writes its probe point
      probeOut: this.schedule.fuses(this.#steps, engine.fusesProbe) ? this.buffer('probe', this.d) : null,
      inputs: () => firstNonFinite(rows, this.d, 'grads') ?? (more && firstNonFinite(more, this.d, kind as string)),
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
}
