// The dense vSGD-fd step (docs/algorithm.md steps 1-9, after bootstrap; formulas as in apply_vsgd of
// native/core/vsgd_math.h) as the plain one-thread TypeScript loop a user would write without the
// addon. Bench only: the baseline the native pass is compared with.

export interface FdState {
  g: Float32Array; v: Float32Array; h: Float32Array; vh: Float32Array; tau: Float32Array; eta: Float32Array;
}

const offset = (g: number, eps: number) => (Math.abs(g) < eps ? (g < 0 ? -eps : eps) : g);

/** out = theta + delta (the point where the caller evaluates the shifted rows) */
export function tsProbe(theta: Float32Array, s: FdState, out: Float32Array, eps = 1e-5): void {
  for (let i = 0; i < theta.length; i++) out[i] = theta[i] + offset(s.g[i], eps);
}

/** One step from n gradient rows and n shifted rows (row-major, n x d); k = outlierSigmas. */
export function tsUpdate(theta: Float32Array, s: FdState, grads: Float32Array, shifted: Float32Array, n: number,
  eps = 1e-5, k = 2): void {
  const d = theta.length;
  const { g, v, h, vh, tau, eta } = s;
  for (let i = 0; i < d; i++) {
    const inv = 1 / Math.abs(offset(g[i], eps));
    let s1 = 0, s2 = 0, c1 = 0, c2 = 0;
    for (let j = 0, o = i; j < n; j++, o += d) {
      const x = grads[o];
      const c = Math.abs(x - shifted[o]) * inv;
      s1 += x;
      s2 += x * x;
      c1 += c;
      c2 += c * c;
    }
    const gb = s1 / n, q = s2 / n, cb = c1 / n, cq = c2 / n;
    let gi = g[i], vi = v[i], hi = h[i], vhi = vh[i], t = tau[i];
    if (k > 0 && (Math.abs(gb - gi) > k * Math.sqrt(Math.max(vi - gi * gi, 0)) ||
      Math.abs(cb - hi) > k * Math.sqrt(Math.max(vhi - hi * hi, 0)))) t += 1;
    const r = 1 / t;
    gi = (1 - r) * gi + r * gb;
    vi = (1 - r) * vi + r * q;
    hi = (1 - r) * hi + r * cb;
    vhi = (1 - r) * vhi + r * cq;
    const g2 = gi * gi;
    const e = (hi + eps) / (vhi + eps) * (n * g2 / (vi + (n - 1) * g2 + eps));
    g[i] = gi;
    v[i] = vi;
    h[i] = hi;
    vh[i] = vhi;
    tau[i] = Math.max(1 - g2 / (vi + eps), 0) * t + 1;
    eta[i] = e;
    theta[i] -= e * gb;
  }
}
