// tf.Optimizer subclasses over the native optimizers: minimize() (what fit() calls) evaluates the
// gradient of the batch's loss at θ, and on steps that need curvature again at the probe point
// θ+δ on the same batch, then updates θ, which the model's variables share (params.ts).
import { type Optimizer as Native, type StepInfo } from '../index';
import { Draws, sideEffectFree } from './agree';
import { type Mode, Params } from './params';
import { packBytes, packShapes, SHAPES, STATE, unpackBytes, unpackShapes } from './state';
import { tf, type TF } from './tf';

/** Milliseconds spent in each part of the last step. */
export interface StepTimes {
  /** gradients at θ: the forward and backward passes of every slice */
  evaluate: number;
  /** gradients at the probe point θ+δ (0 on steps without curvature) */
  probeEvaluate: number;
  /** copying the gradients into the optimizer's rows */
  gather: number;
  /** pointing the variables at the probe point and back at θ (copies on the wasm backend) */
  write: number;
  /** the native probe() and update() */
  update: number;
}

export interface TfStepInfo extends StepInfo {
  /** how the variables share θ: 'alias' (cpu backend: the same memory) or 'copy' (other backends) */
  mode: Mode;
  ms: StepTimes;
}

/** One slice's loss, or (microbatches > 1 in a custom loop) `(slice, slices) => loss of that slice`. */
export type LossFn = (() => TF.Scalar) | ((slice: number, slices: number) => TF.Scalar);

export interface AdapterOptions {
  /** gradient rows per step: each batch is split into this many slices (default 1: the batch mean) */
  microbatches?: number;
}

type NativeClass = {
  new (theta: Float32Array, options: Record<string, unknown>): Native;
  load(theta: Float32Array, bytes: Uint8Array): Native;
  name: string;
};
type NamedTensor = { name: string; tensor: TF.Tensor };
type Config = Record<string, number | string | boolean>;
// vSGD-fd: a probe point, and update() with the shifted rows
type Probing = Native & { probe(grads?: Float32Array): Float32Array; update(grads: Float32Array, shifted?: Float32Array): StepInfo };
type TrainFunction = (data: TF.Tensor[]) => TF.Scalar[];

const now = () => performance.now();

export abstract class NativeOptimizer extends tf.Optimizer {
  readonly #Class: NativeClass;
  readonly #config: Config;
  readonly #options: Record<string, unknown>;
  readonly #k: number;
  #params: Params | null = null;
  #native: Native | null = null;
  #pending: { state: Uint8Array; shapes: number[][] } | null = null;
  #rows = new Float32Array(0);
  #shifted = new Float32Array(0);
  #draws = new Draws();
  #mode: Mode | undefined;
  #disposed = false;
  // fit() with microbatches: the slices of the current batch, evaluated at θ so far
  #slices: (() => TF.Scalar)[] | null = null;
  #times: StepTimes = { evaluate: 0, probeEvaluate: 0, gather: 0, write: 0, update: 0 };
  /** what the last step did and where its time went */
  lastStep: TfStepInfo | null = null;

  protected constructor(Class: NativeClass, options: unknown) {
    super();
    this.#Class = Class;
    const name = this.getClassName();
    if (options === undefined) options = {};
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError(`Expected an options object for ${name} but received ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
    }
    const { microbatches = 1, ...rest } = options as Config;
    if (typeof microbatches !== 'number' || !Number.isInteger(microbatches) || microbatches < 1) {
      throw new RangeError(`Expected a positive integer for options.microbatches but received ${JSON.stringify(microbatches)}`);
    }
    if ('minibatch' in rest) {
      throw new TypeError(`${name}: options.minibatch is not used here (the batch is fit()'s batchSize); options.microbatches sets the gradient rows per step`);
    }
    new Class(new Float32Array(1), rest).dispose(); // checks the options now, with the native messages
    this.#k = microbatches;
    this.#options = rest;
    this.#config = { ...(options as Config) };
  }

  // tf.Optimizer answers instanceof by duck typing (any optimizer is "an Optimizer"), and
  // subclasses inherit that: these classes answer by their prototype chain instead.
  static [Symbol.hasInstance](x: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, x);
  }

  /** the native optimizer over θ (null before the first step): its `state`, `steps`, `bootstrapping` */
  get native(): Native | null {
    return this.#native;
  }
  /** θ and where each variable lives in it (null before the first step) */
  get params(): Params | null {
    return this.#params;
  }

  /** Forces how the variables share θ ('copy' everywhere, for tests and measurements); before the first step. */
  setMode(mode: Mode): void {
    if (this.#params) throw new Error(`${this.getClassName()}.setMode(): call it before the first step`);
    this.#mode = mode;
  }

  override minimize(f: LossFn, returnCost = false, varList?: TF.Variable[]): TF.Scalar | null {
    let value: TF.Scalar;
    if (this.#slices) value = this.#slice(f as () => TF.Scalar, varList);
    else {
      const fs = this.#split(f);
      const params = this.#begin(varList);
      const values: TF.Scalar[] = [];
      try {
        fs.forEach((g, j) => values.push(this.#row(params, g, j)));
        this.#finish(params, fs);
      } catch (err) {
        tf.dispose(values);
        throw err;
      }
      value = values.length === 1 ? values[0] : tf.tidy(() => tf.div(tf.addN(values), values.length) as TF.Scalar);
      if (values.length > 1) tf.dispose(values);
    }
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  #split(f: LossFn): (() => TF.Scalar)[] {
    if (typeof f !== 'function') throw new TypeError(`Expected a function for ${this.getClassName()}.minimize(f) but received ${typeof f}`);
    if (this.#k === 1) return [f as () => TF.Scalar];
    if (f.length < 1) {
      throw new Error(`${this.getClassName()}: microbatches = ${this.#k} needs the loss of each slice: in a custom loop pass ` +
        'minimize((slice, slices) => loss of that slice of the batch); for fit(), call optimizer.attach(model) after compile()');
    }
    return Array.from({ length: this.#k }, (_, j) => () => (f as (s: number, k: number) => TF.Scalar)(j, this.#k));
  }

  override applyGradients(gradients: TF.NamedTensorMap | NamedTensor[]): void {
    const map: TF.NamedTensorMap = Array.isArray(gradients) ? Object.fromEntries(gradients.map((g) => [g.name, g.tensor])) : gradients;
    const registered = tf.engine().registeredVariables;
    const vars = Object.keys(map).map((name) => {
      const v = registered[name];
      if (!v) throw new Error(`${this.getClassName()}.applyGradients(): no variable is named ${JSON.stringify(name)}`);
      return v;
    });
    const params = this.#begin(vars);
    if ((this.#native as Native).needsCurvature) {
      throw new Error(`${this.getClassName()}.applyGradients(): curvature is due on this step and needs the gradient at the probe ` +
        'point, which only the loss function gives: use minimize(f) (fit() does)');
    }
    const t = now();
    params.readRow(map, this.#rows, 0);
    this.#times.gather = now() - t;
    this.#update(params, 1, false);
  }

  // The variables of this step, gathered into θ at the first; the native optimizer made then.
  #begin(varList: TF.Variable[] | undefined): Params {
    this.#guard();
    const given = varList ?? Object.values(tf.engine().registeredVariables);
    let params = this.#params;
    if (!params) {
      const vars = given.filter((v) => v.trainable);
      if (vars.length === 0) throw new Error(`${this.getClassName()}: no trainable variables to optimize`);
      params = new Params(vars, this.#mode);
      this.#native = this.#pending ? this.#restore(params) : new this.#Class(params.theta, this.#options);
      this.#params = params;
    } else if (params.check(given, this.getClassName())) {
      (this.#native as Native).invalidate();
    }
    const size = this.#k * params.theta.length;
    if (this.#rows.length !== size) this.#rows = new Float32Array(size);
    this.#times = { evaluate: 0, probeEvaluate: 0, gather: 0, write: 0, update: 0 };
    return params;
  }

  // Gradient row j at θ; its value returned. Math.random's draws are kept for the probe evaluation.
  #row(params: Params, f: () => TF.Scalar, j: number): TF.Scalar {
    const t0 = now();
    const { value, grads } = this.#draws.record(j, () => tf.variableGrads(f, params.slots.map((s) => s.variable)));
    const t1 = now();
    try {
      params.readRow(grads, this.#rows, j);
    } catch (err) {
      value.dispose();
      throw err;
    } finally {
      tf.dispose(grads);
    }
    this.#times.evaluate += t1 - t0;
    this.#times.gather += now() - t1;
    return value;
  }

  // The update from the n rows: with curvature, the gradients at θ+δ of the same slices first.
  #finish(params: Params, fs: (() => TF.Scalar)[]): void {
    const native = this.#native as Native;
    const n = fs.length;
    if (!native.needsCurvature) return this.#update(params, n, false);
    const d = params.theta.length;
    if (this.#shifted.length !== this.#rows.length) this.#shifted = new Float32Array(this.#rows.length);
    let t = now();
    const at = (native as Probing).probe(this.#rows.subarray(0, n * d));
    this.#times.update += now() - t;
    const own = new Set(params.slots.map((s) => s.variable));
    const vars = params.slots.map((s) => s.variable);
    try {
      t = now();
      params.show(at);
      this.#times.write += now() - t;
      fs.forEach((f, j) => {
        const t0 = now();
        const { value, grads } = sideEffectFree(() => this.#draws.replay(j, () => tf.variableGrads(f, vars), this.getClassName()), own);
        value.dispose();
        const t1 = now();
        try {
          params.readRow(grads, this.#shifted, j);
        } finally {
          tf.dispose(grads);
        }
        this.#times.probeEvaluate += t1 - t0;
        this.#times.gather += now() - t1;
      });
    } catch (err) {
      params.sync(); // nothing was updated: the variables show θ as it was
      throw err;
    }
    this.#update(params, n, true);
  }

  #update(params: Params, n: number, curvature: boolean): void {
    const native = this.#native as Native;
    const d = params.theta.length;
    let t = now();
    const info = curvature ? (native as Probing).update(this.#rows.subarray(0, n * d), this.#shifted.subarray(0, n * d)) : native.update(this.#rows.subarray(0, n * d));
    this.#times.update += now() - t;
    t = now();
    params.sync();
    this.#times.write += now() - t;
    this.incrementIterations();
    this.lastStep = { ...info, mode: params.mode, ms: { ...this.#times } };
  }

  /**
   * Lets fit(), fitDataset() and trainOnBatch() of `model` hand this optimizer `microbatches`
   * slices of each batch, one gradient row each; call after compile(). Each slice is evaluated
   * on its own (smaller batches: more, less efficient kernel calls), at θ and, with curvature, at
   * θ+δ. The loss and metrics fit() reports are the means over the slices, weighted by size.
   */
  attach(model: object): void {
    type Trainable = { makeTrainFunction?: () => TrainFunction; model?: Trainable };
    // a tf.Sequential trains through the LayersModel it wraps
    const inner = (model as Trainable).model;
    const m = (inner && typeof inner.makeTrainFunction === 'function' ? inner : model) as Trainable;
    const make = m.makeTrainFunction;
    if (typeof make !== 'function') throw new TypeError(`Expected a compiled tf.LayersModel for ${this.getClassName()}.attach(model)`);
    m.makeTrainFunction = () => {
      const train = make.call(m);
      return (data: TF.Tensor[]) => this.#splitBatch(train, data);
    };
  }

  #splitBatch(train: TrainFunction, data: TF.Tensor[]): TF.Scalar[] {
    const batch = data[0].shape[0] as number;
    const n = Math.min(this.#k, batch);
    const sizes = Array.from({ length: n }, (_, j) => Math.floor(batch / n) + (j < batch % n ? 1 : 0));
    const parts: TF.Tensor[][] = [];
    const outs: TF.Scalar[][] = [];
    this.#slices = [];
    try {
      let start = 0;
      for (const size of sizes) {
        const part = data.map((x) => (x == null ? x : tf.keep(tf.slice(x, start, size)))); // absent sample weights are null
        parts.push(part);
        outs.push(train(part)); // calls minimize(), which evaluates this slice at θ (#slice)
        start += size;
      }
      if (this.#slices.length > 0) this.#finish(this.#params as Params, this.#slices);
    } catch (err) {
      outs.forEach((o) => tf.dispose(o));
      throw err;
    } finally {
      this.#slices = null;
      parts.forEach((p) => tf.dispose(p.filter((x) => x != null)));
    }
    const result = outs[0].map((_, i) => tf.tidy(() => tf.addN(outs.map((o, j) => tf.mul(o[i], sizes[j] / batch))) as TF.Scalar));
    outs.forEach((o) => tf.dispose(o));
    return result;
  }

  // One slice of a batch split by attach(): its row at θ now, the rest when all are in.
  #slice(f: () => TF.Scalar, varList: TF.Variable[] | undefined): TF.Scalar {
    const slices = this.#slices as (() => TF.Scalar)[];
    const params = slices.length === 0 ? this.#begin(varList) : (this.#params as Params);
    const value = this.#row(params, f, slices.length);
    slices.push(f);
    return value;
  }

  /** The iteration count, then the native optimizer's whole state (its save() bytes) and the variables' shapes. */
  override async getWeights(): Promise<NamedTensor[]> {
    this.#guard();
    const out = [await this.saveIterations()];
    const state = this.#native ? this.#native.save() : this.#pending?.state;
    const shapes = this.#params ? this.#params.slots.map((s) => s.shape) : this.#pending?.shapes;
    if (state && shapes) out.push({ name: STATE, tensor: packBytes(state) }, { name: SHAPES, tensor: packShapes(shapes) });
    return out;
  }

  /** Takes what getWeights() gave: a step after it continues exactly as the saved run would have. */
  override async setWeights(weights: NamedTensor[]): Promise<void> {
    this.#guard();
    if (!Array.isArray(weights) || weights.length === 0) throw new TypeError(`Expected the array getWeights() gave for ${this.getClassName()}.setWeights() but received ${Array.isArray(weights) ? 'an empty array' : typeof weights}`);
    const rest = await this.extractIterations(weights);
    if (rest.length === 0) return;
    const byName = new Map(rest.map((w) => [w.name, w.tensor]));
    const s = byName.get(STATE), sh = byName.get(SHAPES);
    if (!s || !sh || rest.length !== 2) {
      throw new Error(`${this.getClassName()}.setWeights(): expected the weights '${STATE}' and '${SHAPES}' after the iteration count, got ${rest.map((w) => `'${w.name}'`).join(', ')}`);
    }
    const pending = { state: unpackBytes(await s.data() as Int32Array), shapes: unpackShapes(await sh.data() as Int32Array) };
    if (!this.#params) {
      this.#pending = pending;
      return;
    }
    this.#pending = pending;
    const native = this.#restore(this.#params); // throws before replacing anything if it does not fit
    this.#native?.dispose();
    this.#native = native;
  }

  #restore(params: Params): Native {
    const { state, shapes } = this.#pending as { state: Uint8Array; shapes: number[][] };
    const have = params.slots.map((s) => s.shape);
    if (JSON.stringify(have) !== JSON.stringify(shapes)) {
      throw new Error(`${this.getClassName()}: the saved state is for variables of shapes ${JSON.stringify(shapes)}, these have ${JSON.stringify(have)}`);
    }
    const native = this.#Class.load(params.theta, state);
    this.#pending = null;
    return native;
  }

  override getConfig(): TF.serialization.ConfigDict {
    return { ...this.#config };
  }

  /** The options getConfig() gave (tf.loadLayersModel adds `customObjects`, which is not one). */
  static override fromConfig<T extends TF.serialization.Serializable>(cls: TF.serialization.SerializableConstructor<T>, config: TF.serialization.ConfigDict): T {
    const { customObjects: _, ...options } = config;
    return new cls(options);
  }

  override dispose(): void {
    super.dispose();
    this.#native?.dispose();
    this.#params?.dispose();
    this.#native = null;
    this.#params = null;
    this.#disposed = true;
  }

  #guard(): void {
    if (this.#disposed) throw new Error(`${this.getClassName()}: this optimizer was disposed`);
  }
}
