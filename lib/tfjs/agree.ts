// The probe evaluation must see the batch as the first evaluation saw it, at θ+δ instead of θ:
//  - random layers (dropout, noise) seed their generators from Math.random when given no seed:
//    the first evaluation's draws are recorded and the probe evaluation gets the same ones;
//  - stateful layers (batch normalization's moving statistics) write non-trainable variables:
//    whatever the probe evaluation writes is put back as it was;
//  - tensors the probe evaluation keeps with tf.keep (fit's metrics) belong to the probe point
//    and are disposed.
import { tf, type TF } from './tf';

export class Draws {
  #sets: number[][] = [];

  /** Runs fn, recording its Math.random draws as set `k`. */
  record<T>(k: number, fn: () => T): T {
    const draws: number[] = (this.#sets[k] = []);
    const random = Math.random;
    Math.random = () => {
      const x = random();
      draws.push(x);
      return x;
    };
    try {
      return fn();
    } finally {
      Math.random = random;
    }
  }

  /** Runs fn with Math.random answering set `k`'s draws again; refuses a different count. */
  replay<T>(k: number, fn: () => T, owner: string): T {
    const draws = this.#sets[k] ?? [];
    const random = Math.random;
    let i = 0;
    const differ = (what: string) => new Error(`${owner}: the evaluation at the probe point drew ${what} random numbers than the ` +
      `first evaluation of the same batch (${draws.length}): its forward pass is random in a way the two evaluations cannot share, ` +
      'so its curvature estimate would compare different functions');
    Math.random = () => {
      if (i >= draws.length) throw differ('more');
      return draws[i++];
    };
    try {
      const out = fn();
      if (i !== draws.length) throw differ('fewer');
      return out;
    } finally {
      Math.random = random;
    }
  }
}

/** Runs fn and undoes its writes to variables outside `own`; disposes the tensors it keeps. */
export function sideEffectFree<T>(fn: () => T, own: ReadonlySet<TF.Variable>): T {
  const engine = tf.engine() as unknown as { keep: <S extends TF.Tensor>(t: S) => S };
  const proto = tf.Variable.prototype;
  const assign = proto.assign;
  // a variable's value before its first write here (a clone holds its data: assign() would free it)
  const before = new Map<TF.Variable, TF.Tensor>();
  proto.assign = function (this: TF.Variable, value: TF.Tensor) {
    if (!own.has(this) && !before.has(this)) before.set(this, tf.keep(tf.clone(this)));
    return assign.call(this, value);
  };
  const kept: TF.Tensor[] = [];
  const keep = engine.keep;
  engine.keep = <S extends TF.Tensor>(t: S): S => {
    kept.push(t);
    return keep.call(engine, t) as S;
  };
  try {
    return fn();
  } finally {
    proto.assign = assign;
    engine.keep = keep;
    for (const [v, value] of before) {
      if (!v.isDisposed) v.assign(value);
      value.dispose();
    }
    for (const t of kept) t.dispose();
  }
}
