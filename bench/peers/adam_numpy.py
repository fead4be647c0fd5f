"""Adam in numpy, float32, in place through out= so no array is allocated per step."""
import math

import numpy as np

from timing import args, run


def make_step(d, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    rng = np.random.default_rng(0)
    p = rng.standard_normal(d, dtype=np.float32)
    g = rng.standard_normal(d, dtype=np.float32)
    m = np.zeros(d, np.float32)
    v = np.zeros(d, np.float32)
    tmp = np.empty(d, np.float32)
    t = [0]

    def step():
        t[0] += 1
        np.multiply(m, b1, out=m)
        np.multiply(g, 1 - b1, out=tmp)
        np.add(m, tmp, out=m)
        np.multiply(v, b2, out=v)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 1 - b2, out=tmp)
        np.add(v, tmp, out=v)
        np.sqrt(v, out=tmp)
        np.multiply(tmp, 1 / math.sqrt(1 - b2 ** t[0]), out=tmp)
        np.add(tmp, eps, out=tmp)
        np.divide(m, tmp, out=tmp)
        np.multiply(tmp, lr / (1 - b1 ** t[0]), out=tmp)
        np.subtract(p, tmp, out=p)

    return step


if __name__ == "__main__":
    # numpy's element-wise operations run on one thread
    run("numpy", np.__version__, 1, make_step, args())
