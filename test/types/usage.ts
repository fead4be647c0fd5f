// Compiled by test/types.test.ts against the package's declarations (dist/*.d.ts): what must
// compile does, and every line under @ts-expect-error must not (tsc reports an unused one).
import { Adam, type AdamState, type Optimizer, SGD, VSGD, VSGDfd, type VSGDfdState } from '../../dist/index';

const theta = new Float32Array(4);
const fd = new VSGDfd(theta, { minibatch: 2, sparsity: 'instance', nonFinite: 'throw' });

// state: the class's own fields, typed
const g: Float32Array = fd.state.g;
const p: Float32Array | undefined = fd.state.p; // 'global' only
const all: Readonly<VSGDfdState> = fd.state;
// @ts-expect-error: no such field
fd.state.etaa;
// @ts-expect-error: vSGD keeps no vh
new VSGD(theta).state.vh;
const adam: Readonly<AdamState> = new Adam(theta).state;
// @ts-expect-error: Adam's state is m and v
adam.g;
// @ts-expect-error: SGD keeps none
new SGD(theta).state.g;

// options: resolved, typed per class, read-only
const sparsity: 'none' | 'instance' | 'global' = fd.options.sparsity;
const every: number = fd.options.curvatureEvery;
const lr: number = new Adam(theta).options.lr;
// @ts-expect-error: options are fixed at construction
fd.options.minibatch = 3;
// @ts-expect-error: SGD has no sparsity option
new SGD(theta).options.sparsity;
// @ts-expect-error: a misspelled option
new VSGDfd(theta, { bootstap: 3 });
// @ts-expect-error: not a sparsity name
new VSGDfd(theta, { sparsity: 'dense' });
// @ts-expect-error: not a nonFinite policy
new Adam(theta, { nonFinite: 'warn' });

// row forms only where they exist
fd.update(new Float32Array(8), new Float32Array(8));
fd.updateSparse({ offsets: new Int32Array([0, 1]), indices: new Int32Array([0]), values: new Float32Array([1]) });
// @ts-expect-error: the baselines take no curvature rows
new SGD(theta).update(new Float32Array(4), new Float32Array(4));
// @ts-expect-error: sparse rows are VSGDfd's and VSGD's
new Adam(theta).updateSparse;
// @ts-expect-error: only VSGDfd has a probe point
new VSGD(theta).probe;

// every class is an Optimizer
const opts: Optimizer[] = [fd, new VSGD(theta), new SGD(theta), new Adam(theta)];
export { all, every, g, lr, opts, p, sparsity };
