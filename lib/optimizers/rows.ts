// Row arguments beyond the dense Float32Array: sparse rows (CSR) and their checks, and the search
// for the first non-finite entry that the messages of nonFinite 'throw' name.
import * as check from '../check';

/** n sparse rows: row j holds indices[offsets[j] .. offsets[j+1]) (sorted, unique) with their
 * values; `shifted` (VSGDfd) or `curvature` (VSGD) are aligned with indices. */
export interface SparseRows {
  offsets: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  shifted?: Float32Array;
  curvature?: Float32Array;
}

/** The types and lengths of sparse rows; the addon checks the indices themselves (sorted, unique,
 * in [0, d)) where it reads them. `extra` is the name of the aligned values this class takes. */
export function checkSparse(rows: unknown, extra: 'shifted' | 'curvature'): SparseRows {
  if (rows === null || typeof rows !== 'object') throw new TypeError(check.expected('an object { offsets, indices, values }', 'rows', rows));
  const r = rows as SparseRows;
  // a plain loop over the keys, no arrays made: this runs on every sparse call
  for (const key in r) {
    if (key === 'offsets' || key === 'indices' || key === 'values' || key === extra || !Object.hasOwn(r, key)) continue;
    if ((r as unknown as Record<string, unknown>)[key] !== undefined) {
      throw new TypeError(`Unknown field ${JSON.stringify(key)} in rows; known: offsets, indices, values, ${extra}`);
    }
  }
  for (const key of ['offsets', 'indices'] as const) {
    if (!(r[key] instanceof Int32Array)) throw new TypeError(check.expected('an Int32Array', `rows.${key}`, r[key]));
  }
  if (r.offsets.length < 2) throw new RangeError(check.expected('an Int32Array of at least 2 entries (n + 1 for n rows)', 'rows.offsets', r.offsets));
  check.float32(r.values, 'rows.values');
  if (r.values.length !== r.indices.length) {
    throw new RangeError(check.expected(`a Float32Array of length ${r.indices.length} (one value per index)`, 'rows.values', r.values));
  }
  const more = r[extra];
  if (more !== undefined && more !== null) {
    if (!(more instanceof Float32Array)) check.float32(more, `rows.${extra}`);
    if (more.length !== r.indices.length) {
      throw new RangeError(check.expected(`a Float32Array of length ${r.indices.length} (one value per index)`, `rows.${extra}`, more));
    }
  }
  return r;
}

/** "grads[row j, coordinate i] is NaN" for the first non-finite entry of dense rows, or null. */
export function firstNonFinite(rows: Float32Array, d: number, name: string): string | null {
  for (let k = 0; k < rows.length; k++) {
    if (!Number.isFinite(rows[k])) return `${name}[row ${Math.floor(k / d)}, coordinate ${k % d}] is ${rows[k]}`;
  }
  return null;
}

/** The same for the values (or `name`d aligned values) of sparse rows. */
export function firstNonFiniteSparse(rows: SparseRows, values: Float32Array, name: string): string | null {
  for (let k = 0; k < values.length; k++) {
    if (Number.isFinite(values[k])) continue;
    let j = 0;
    while (rows.offsets[j + 1] <= k) j++;
    return `${name}[${k}] (row ${j}, coordinate ${rows.indices[k]}) is ${values[k]}`;
  }
  return null;
}
