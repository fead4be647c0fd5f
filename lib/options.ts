// Option schemas: every public option is declared once here with its default and range; resolve()
// checks what a caller gave against them and fills one options object, once, at construction.
// The doc comments of the options interfaces state the same ranges (test/options.test.ts).
import { closest, expected, show } from './check';
import { SPARSITIES, VARIANTS } from './names';

/** The largest finite float32: float options stay within it, so the addon's cast is defined. */
export const FLOAT32_MAX = 3.4028234663852886e38;

export type Spec =
  | { kind: 'number'; default: number | undefined; min: number; max: number; open?: boolean; below?: boolean; integer?: boolean }
  | { kind: 'enum'; default: string; values: readonly string[] }
  | { kind: 'boolean'; default: boolean };

export type Schema = Record<string, Spec>;

/** A float option in [min, max]: min excluded with `open`, max with `below`; max defaults to the
 * float32 limit. */
export const num = (def: number | undefined, min: number, extra: { max?: number; open?: boolean; below?: boolean } = {}): Spec => ({
  kind: 'number', default: def, min, max: extra.max ?? FLOAT32_MAX, open: extra.open, below: extra.below,
});
export const int = (def: number | undefined, min: number, max = 2 ** 31 - 1): Spec => ({
  kind: 'number', default: def, min, max, integer: true,
});
const choice = (def: string, values: readonly string[]): Spec => ({ kind: 'enum', default: def, values });

/** The range of a number option as the error messages and the doc comments state it. */
export function range(spec: Extract<Spec, { kind: 'number' }>): string {
  const bounded = spec.max !== FLOAT32_MAX;
  const what = spec.integer ? 'an integer' : bounded ? 'a number' : 'a finite float32';
  return `${what} ${spec.open ? '>' : '>='} ${spec.min}${bounded ? ` and ${spec.below ? '<' : '<='} ${spec.max}` : ''}`;
}

const lr = (def: number) => num(def, 0, { open: true });
const eps = (def: number) => num(def, 1e-30); // stays a positive float32
const beta = (def: number) => num(def, 0, { max: 1, below: true });

export const common: Schema = {
  minibatch: int(1, 1),
  device: choice('auto', ['auto', 'cpu', 'cuda']),
  // libgomp cannot start arbitrarily many threads; past a few per core they only cost
  threads: int(undefined, 1, 1024),
  nonFinite: choice('skip', ['skip', 'throw']),
  // 'mpi': one rank of a data-parallel job started by mpirun (docs/distributed.md)
  comm: choice('none', ['none', 'mpi']),
  // Linux's transparent huge pages for theta, the state and the probe point (docs/performance.md)
  hugePages: { kind: 'boolean', default: false },
};

export const vsgdOptions: Schema = {
  ...common,
  // 'none' under variant 'paper' or reweight: vsgdDefaults()
  sparsity: choice('instance', SPARSITIES),
  curvatureEvery: int(1, 1),
  // a float32 counts samples exactly up to 2^24
  bootstrap: int(10, 1, 2 ** 24),
  // C² scales vh: kept far inside float32
  slowStart: num(2, 1, { max: 1e6 }),
  epsilon: eps(1e-5),
  outlierSigmas: num(2, 0),
  reweight: { kind: 'boolean', default: false },
  // 'paper': the method as published; 'signed': docs/algorithm.md, "Variants"
  variant: choice('signed', VARIANTS),
};

export const sgdOptions: Schema = { ...common, lr: lr(0.1), decay: num(0, 0) };
export const adagradOptions: Schema = { ...common, lr: lr(0.1), epsilon: eps(1e-5) };
export const naturalOptions: Schema = { ...common, lr: lr(0.1), epsilon: eps(1e-5) };
export const adamOptions: Schema = { ...common, lr: lr(1e-3), beta1: beta(0.9), beta2: beta(0.999), epsilon: eps(1e-8) };

/** vSGD-fd's and vSGD's options with the defaults that depend on others filled in: sparsity is
 * 'instance' (each coordinate counts its own non-zero rows) unless the variant is 'paper' or the
 * rows are reweighted (eq. 5 takes whole rows), where it is 'none'. Anything but an options object
 * is passed on for resolve() to refuse. */
export function vsgdDefaults(options: unknown): unknown {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return options;
  const o = options as Record<string, unknown>;
  const own = (key: string) => (Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined);
  if (own('sparsity') !== undefined) return o;
  return { ...o, sparsity: own('variant') === 'paper' || own('reweight') === true ? 'none' : 'instance' };
}

/** Resolves defaults and refuses unknown names, wrong types and values out of range. */
export function resolve<T>(owner: string, schema: Schema, given: unknown): T {
  if (given === undefined) given = {};
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new TypeError(expected('an options object', `${owner} options`, given));
  }
  const known = Object.keys(schema);
  for (const key of Object.keys(given)) {
    if (!(key in schema)) {
      const hint = closest(key, known);
      throw new TypeError(
        `Unknown option ${JSON.stringify(key)} for ${owner}` +
          (hint ? ` (did you mean ${JSON.stringify(hint)}?)` : '') +
          `; known options: ${known.join(', ')}`,
      );
    }
  }
  const out: Record<string, number | string | boolean | undefined> = {};
  for (const [key, spec] of Object.entries(schema)) {
    // own properties only: an inherited `lr` is not an option someone gave
    const value = Object.prototype.hasOwnProperty.call(given, key) ? (given as Record<string, unknown>)[key] : undefined;
    out[key] = value === undefined ? spec.default : checked(spec, value, `options.${key}`);
  }
  return out as T;
}

function checked(spec: Spec, value: unknown, name: string): number | string | boolean {
  if (spec.kind === 'boolean') {
    if (typeof value !== 'boolean') throw new TypeError(expected('true or false', name, value));
    return value;
  }
  if (spec.kind === 'enum') {
    const list = spec.values.map((v) => `'${v}'`).join(', ');
    if (typeof value !== 'string') throw new TypeError(expected(`one of ${list}`, name, value));
    if (!spec.values.includes(value)) throw new RangeError(expected(`one of ${list}`, name, value));
    return value;
  }
  if (typeof value !== 'number') throw new TypeError(expected('a number', name, value));
  // floats are checked as the float32 the kernels will see: 1e-50 is 0 there, 1e39 infinite
  const x = spec.integer ? value : Math.fround(value);
  const low = spec.open ? x <= spec.min : x < spec.min;
  const high = spec.below ? x >= spec.max : x > spec.max;
  if (!Number.isFinite(x) || low || high || (spec.integer && !Number.isInteger(x))) {
    throw new RangeError(`Expected ${range(spec)} for ${name} but received ${show(value)}`);
  }
  return value;
}
