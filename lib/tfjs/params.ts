// The model's trainable variables as one Float32Array θ that the native optimizer updates in place.
//  - 'alias' (cpu backend): each variable holds a tensor whose backing array is its slice of θ (the
//    cpu backend keeps the Float32Array a tensor is made from), so an update writes the weights
//    themselves; for the probe evaluation the variables are pointed at tensors over the probe
//    buffer and back again. No copies.
//  - 'copy' (wasm and other backends): θ is written into new tensors that the variables take
//    (assign) after an update, and the probe point before the probe evaluation: one copy each.
//    Not in place: the wasm backend caches weights packed for its matrix products by tensor id,
//    so a write under the same id would go unseen.
// A variable written from outside (setWeights, loadWeights, assign) gets a new dataId: check()
// sees it and gathers its new values into θ. A tensor sharing a variable's memory under alias
// (clone(), reshape()) gets its own copy first, so it keeps the values it had.
import { tf, type TF } from './tf';

export type Mode = 'alias' | 'copy';
type DataId = object;
type Variable = TF.Variable;

interface CpuBackend { data: { get(id: DataId): { values: unknown } | undefined }; refCount(id: DataId): number }
interface WasmBackend { typedArrayFromHeap(t: TF.Tensor): Float32Array }

export interface Slot {
  variable: Variable;
  /** the variable's name when it was gathered */
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export class Params {
  readonly theta: Float32Array;
  readonly slots: Slot[];
  #mode!: Mode;
  #backend!: string;
  #forced: Mode | undefined;
  // alias: the tensors over θ's slices that the variables hold, and those over the probe buffer's
  #own: (TF.Tensor | null)[] = [];
  #probe: { buffer: Float32Array; tensors: TF.Tensor[] } | null = null;
  #ids: DataId[] = [];
  #showing: 'theta' | 'point' = 'theta';
  #heap: WasmBackend | null = null; // the wasm backend, whose gradients are read in place

  /** Gathers the variables (one copy of their values into θ) and sets up their storage. */
  constructor(variables: Variable[], forced?: Mode) {
    let d = 0;
    this.slots = variables.map((variable) => {
      if (variable.dtype !== 'float32') throw new TypeError(`vsgd-fd/tfjs: variable ${variable.name} has dtype ${variable.dtype}; only float32 variables can be trained`);
      const slot = { variable, name: variable.name, shape: variable.shape.slice(), offset: d, size: variable.size };
      d += variable.size;
      return slot;
    });
    if (d === 0) throw new RangeError('vsgd-fd/tfjs: the trainable variables hold no values');
    this.theta = new Float32Array(d);
    this.#forced = forced;
    for (const s of this.slots) this.theta.set(s.variable.dataSync() as Float32Array, s.offset);
    this.#establish();
  }

  /** 'alias' or 'copy': how θ reaches the variables on the current backend */
  get mode(): Mode {
    return this.#mode;
  }

  #slice(buf: Float32Array, s: Slot): Float32Array {
    return buf.subarray(s.offset, s.offset + s.size);
  }

  // Picks the mode for the current backend and gives every variable storage of its own.
  #establish(): void {
    this.#release();
    this.#backend = tf.getBackend();
    const backend = tf.backend() as unknown as Partial<CpuBackend & WasmBackend>;
    this.#mode = this.#forced ?? (this.#backend === 'cpu' && typeof backend.data?.get === 'function' ? 'alias' : 'copy');
    this.#heap = typeof backend.typedArrayFromHeap === 'function' ? (backend as WasmBackend) : null;
    if (this.#mode === 'alias') {
      this.#own = this.slots.map((s) => this.#aliased(this.theta, s));
      if (this.#own.some((t) => t === null)) {
        this.#release(); // this backend copied what it was given: fall back
        this.#mode = 'copy';
      }
    }
    this.slots.forEach((s, i) => this.#adopt(i));
    this.#showing = 'theta';
  }

  // A tensor over buf's slice for s, or null when the backend did not keep the array.
  #aliased(buf: Float32Array, s: Slot): TF.Tensor | null {
    const part = this.#slice(buf, s);
    const t = tf.keep(tf.tensor(part, s.shape, 'float32'));
    const v = t.dataSync() as Float32Array;
    if (v.buffer === part.buffer && v.byteOffset === part.byteOffset && v.length === part.length) return t;
    t.dispose();
    return null;
  }

  // Points variable i at storage of its own holding its slice of θ.
  #adopt(i: number): void {
    const s = this.slots[i];
    if (this.#mode === 'alias') s.variable.assign(this.#own[i] as TF.Tensor);
    else this.#write(s.variable, this.#slice(this.theta, s));
    this.#ids[i] = s.variable.dataId;
  }

  #write(v: Variable, values: Float32Array): void {
    // wasm copies into its heap at once; other backends may keep the array they are given
    const t = tf.tensor(this.#heap ? values : values.slice(), v.shape, 'float32');
    v.assign(t);
    t.dispose();
  }

  /**
   * Before a step: the variables must be the ones gathered (an Error names those added, removed or
   * frozen since), on the same backend. Variables written from outside are gathered again, as is
   * everything after a change of backend. Returns true when θ was written (the optimizer must
   * then invalidate its prepared probe point).
   */
  check(given: Variable[], owner: string): boolean {
    const mine = new Set(this.slots.map((s) => s.variable));
    const listed = new Set(given);
    const removed = this.slots.filter((s) => !listed.has(s.variable) || s.variable.isDisposed).map((s) => s.name);
    const frozen = this.slots.filter((s) => listed.has(s.variable) && !s.variable.isDisposed && !s.variable.trainable).map((s) => s.name);
    const added = given.filter((v) => v.trainable && !mine.has(v)).map((v) => v.name);
    if (removed.length || frozen.length || added.length) {
      const what = [added.length && `added: ${added.join(', ')}`, removed.length && `removed: ${removed.join(', ')}`,
        frozen.length && `frozen (trainable = false): ${frozen.join(', ')}`].filter(Boolean).join('; ');
      throw new Error(`${owner}: the trainable variables changed after the first step (${what}). The optimizer keeps ` +
        'per-coordinate state for the variables it started with: make a new optimizer (and compile again) after adding, ' +
        'removing or freezing variables');
    }
    if (tf.getBackend() !== this.#backend) {
      for (const s of this.slots) this.theta.set(s.variable.dataSync() as Float32Array, s.offset);
      this.#establish();
      return true;
    }
    let written = false;
    this.slots.forEach((s, i) => {
      const v = s.variable;
      if (v.dataId !== this.#ids[i]) {
        // written from outside: its new values become θ's
        this.theta.set(v.dataSync() as Float32Array, s.offset);
        this.#adopt(i);
        written = true;
      } else if (this.#mode === 'alias' && this.#shared(i)) {
        this.#unshare(i);
      }
    });
    return written;
  }

  // Held by more than the variable and #own[i]?
  #shared(i: number): boolean {
    return (tf.backend() as unknown as CpuBackend).refCount(this.#ids[i]) > 2;
  }

  // Another tensor shares variable i's memory: it keeps the current values in memory of its own
  // and the variable moves to a new tensor over θ, so the coming updates do not reach that tensor.
  #unshare(i: number): void {
    const s = this.slots[i];
    const entry = (tf.backend() as unknown as CpuBackend).data.get(this.#ids[i]) as { values: unknown };
    entry.values = this.#slice(this.theta, s).slice();
    const old = this.#own[i] as TF.Tensor;
    this.#own[i] = this.#aliased(this.theta, s);
    old.dispose();
    this.#adopt(i);
  }

  /** Copies the gradients (a map by variable name) into row `row` of `out` (rows of d). */
  readRow(grads: TF.NamedTensorMap, out: Float32Array, row: number): void {
    const base = row * this.theta.length;
    const heap = this.#heap;
    for (const s of this.slots) {
      const g = grads[s.variable.name];
      const at = base + s.offset;
      if (g == null) {
        out.fill(0, at, at + s.size); // not connected to the loss: a zero gradient
        continue;
      }
      if (g.size !== s.size) throw new RangeError(`vsgd-fd/tfjs: the gradient of ${s.name} has ${g.size} values, the variable ${s.size}`);
      out.set(heap ? heap.typedArrayFromHeap(g) : (g.dataSync() as Float32Array), at);
    }
  }

  /** Points the variables at `point` (d values, θ+δ) until sync(). */
  show(point: Float32Array): void {
    if (this.#mode === 'alias') {
      if (!this.#probe || this.#probe.buffer !== point) {
        this.#disposeProbe();
        const tensors = this.slots.map((s) => this.#aliased(point, s));
        if (tensors.some((t) => t === null)) throw new Error('vsgd-fd/tfjs: the cpu backend copied the probe point instead of keeping it');
        this.#probe = { buffer: point, tensors: tensors as TF.Tensor[] };
      }
      this.slots.forEach((s, i) => s.variable.assign((this.#probe as { tensors: TF.Tensor[] }).tensors[i]));
    } else {
      this.slots.forEach((s) => this.#write(s.variable, this.#slice(point, s)));
    }
    this.#showing = 'point';
    this.#record();
  }

  /** The variables show θ again (after an update: its new values). */
  sync(): void {
    if (this.#mode === 'alias') {
      if (this.#showing === 'point') this.slots.forEach((s, i) => s.variable.assign(this.#own[i] as TF.Tensor));
    } else {
      this.slots.forEach((s) => this.#write(s.variable, this.#slice(this.theta, s)));
    }
    this.#showing = 'theta';
    this.#record();
  }

  #record(): void {
    this.slots.forEach((s, i) => (this.#ids[i] = s.variable.dataId));
  }

  #disposeProbe(): void {
    this.#probe?.tensors.forEach((t) => t.dispose());
    this.#probe = null;
  }

  #release(): void {
    this.#own.forEach((t) => t?.dispose());
    this.#own = [];
    this.#disposeProbe();
  }

  /** Frees the tensors kept here; the variables keep their values. */
  dispose(): void {
    if (this.#showing === 'point') this.sync();
    this.#release();
  }
}
