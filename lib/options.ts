// Option schemas: every public option is declared once here with its default and range.
import { closest, expected, show } from './check';

export type Spec =
  | { kind: 'number'; default: number | undefined; min: number; below?: number; integer?: boolean; open?: boolean }
  | { kind: 'enum'; default: string; values: readonly string[] }
  | { kind: 'boolean'; default: boolean };

export type Schema = Record<string, Spec>;

export const num = (def: number | undefined, min: number, extra: Partial<Extract<Spec, { kind: 'number' }>> = {}): Spec => ({
  kind: 'number', default: def, min, ...extra,
});
const int = (def: number | undefined, min: number): Spec => num(def, min, { integer: true });

export const common: Schema = {
  minibatch: int(1, 1),
  device: { kind: 'enum', default: 'auto', values: ['auto', 'cpu', 'cuda'] },
  // libgomp cannot start arbitrarily many threads; past a few per core they only cost
  threads: num(undefined, 1, { integer: true, below: 1025 }),
};

export const vsgdOptions: Schema = {
  ...common,
  sparsity: { kind: 'enum', default: 'none', values: ['none', 'instance', 'global'] },
  curvatureEvery: int(1, 1),
  bootstrap: int(10, 1),
  slowStart: num(2, 1),
  epsilon: num(1e-5, 1e-30), // stays a positive float32
  outlierSigmas: num(2, 0),
  reweight: { kind: 'boolean', default: false },
};

/** Resolves defaults and refuses unknown names, wrong types and values out of range. */
export function resolve(owner: string, schema: Schema, given: unknown): Record<string, number | string | boolean | undefined> {
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
    const name = `options.${key}`;
    if (value === undefined) {
      out[key] = spec.default;
    } else if (spec.kind === 'boolean') {
      if (typeof value !== 'boolean') throw new TypeError(expected('true or false', name, value));
      out[key] = value;
    } else if (spec.kind === 'enum') {
      if (typeof value !== 'string') throw new TypeError(expected(`one of ${spec.values.map((v) => `'${v}'`).join(', ')}`, name, value));
      if (!spec.values.includes(value)) throw new RangeError(expected(`one of ${spec.values.map((v) => `'${v}'`).join(', ')}`, name, value));
      out[key] = value;
    } else {
      if (typeof value !== 'number') throw new TypeError(expected('a number', name, value));
      const what = `${spec.integer ? 'an integer' : 'a finite number'} ${spec.open ? '>' : '>='} ${spec.min}` +
        (spec.below !== undefined ? ` and < ${spec.below}` : '');
      const low = spec.open ? value <= spec.min : value < spec.min;
      if (!Number.isFinite(value) || low || (spec.below !== undefined && value >= spec.below) ||
          (spec.integer && !Number.isInteger(value))) {
        throw new RangeError(`Expected ${what} for ${name} but received ${show(value)}`);
      }
      out[key] = value;
    }
  }
  return out;
}
