// Argument checks. Messages read "Expected X for Y but received Z".

export function show(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'function') return 'a function';
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor?.name ?? 'typed array';
    const len = (value as unknown as { length?: number }).length;
    return len === undefined ? `a ${name}` : `a ${name} of length ${len}`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return `a value of type ${typeof value}`;
}

export function expected(what: string, name: string, value: unknown): string {
  return `Expected ${what} for ${name} but received ${show(value)}`;
}

export function float32(value: unknown, name: string): Float32Array {
  if (!(value instanceof Float32Array)) throw new TypeError(expected('a Float32Array', name, value));
  return value;
}

/** A Float32Array of n rows of d floats; returns n. */
export function rows(value: unknown, name: string, d: number, n?: number): number {
  const a = float32(value, name);
  if (n !== undefined) {
    if (a.length !== n * d) throw new RangeError(expected(`a Float32Array of length ${n * d} (${n} rows of d = ${d})`, name, a));
    return n;
  }
  if (a.length === 0 || a.length % d !== 0) {
    throw new RangeError(expected(`a Float32Array whose length is a positive multiple of d = ${d}`, name, a));
  }
  return a.length / d;
}

// Levenshtein distance, for "did you mean" hints on misspelled option names.
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = distance(name.toLowerCase(), k.toLowerCase());
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
