// Seeded random numbers for the experiments: xoshiro128** (32-bit state words, so it stays in
// integer arithmetic in JavaScript), seeded through splitmix32 so that nearby seeds diverge.

export interface Rng {
  /** uniform in [0, 1) */
  uniform(): number;
  /** fills out with independent standard normals */
  normals(out: Float64Array | Float32Array): void;
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function rng(seed: number): Rng {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  const init = splitmix32(seed);
  let a = init(), b = init(), c = init(), d = init();
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point
  const next = (): number => {
    const out = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return out;
  };
  const uniform = () => next() / 4294967296;
  return {
    uniform,
    normals(out) {
      // Box–Muller, both outputs used; 1 − u keeps the log finite
      for (let k = 0; k < out.length; k += 2) {
        const r = Math.sqrt(-2 * Math.log(1 - uniform()));
        const a2 = 2 * Math.PI * uniform();
        out[k] = r * Math.cos(a2);
        if (k + 1 < out.length) out[k + 1] = r * Math.sin(a2);
      }
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
